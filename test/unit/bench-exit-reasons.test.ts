import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { killAll, processesInGroup, processesUnder, waitUntilGone } from '../support/processes.js'
import { tempDir } from '../support/temp.js'

const module = fileURLToPath(new URL('../../bench/exit-reasons.ts', import.meta.url))
const tsxLoader = import.meta.resolve('tsx')

/** Runs `body` as a module after `const exit = sayWhyOnExit('probe')`; its exit code and stderr. */
function run(
  body: string,
  onStdout?: (text: string, kill: (signal: NodeJS.Signals) => void) => void,
  options = '',
): Promise<{ code: number | null; stderr: string }> {
  const script = `import { sayWhyOnExit } from ${JSON.stringify(module)}\nconst exit = sayWhyOnExit('probe', console.error${options})\n${body}`
  const child = spawn(process.execPath, ['--import', tsxLoader, '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  child.stdout.setEncoding('utf8').on('data', (d: string) => onStdout?.(d, (s) => child.kill(s)))
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stderr })))
}

/**
 * A long bench script (the lifecycle stress) once vanished without a word: every way it ends before its report now
 * says why, and where it was.
 */
describe('sayWhyOnExit', () => {
  it('a wait nothing will end (the event loop emptied): exit code 3 and why', async () => {
    const { code, stderr } = await run(`exit.at('step 7 turn')\nawait new Promise(() => {})`)
    expect(code).toBe(3)
    expect(stderr).toContain('probe ended before its report: nothing was left to wake it')
    expect(stderr).toContain('(last at: step 7 turn)')
  })

  it('SIGTERM: exit code 143 and why', async () => {
    const { code, stderr } = await run(
      `exit.at('closing')\nsetInterval(() => {}, 1000)\nconsole.log('ready')`,
      (text, kill) => {
        if (text.includes('ready')) kill('SIGTERM')
      },
    )
    expect(code).toBe(143)
    expect(stderr).toContain('probe ended before its report: SIGTERM came (last at: closing)')
  })

  it('SIGINT with something to close first: it is closed, then exit code 130', async () => {
    const { code, stderr } = await run(
      `exit.closeFirst(async () => { await new Promise((r) => setTimeout(r, 50)); console.error('closed the gateway') })\n` +
        `setInterval(() => {}, 1000)\nconsole.log('ready')`,
      (text, kill) => {
        if (text.includes('ready')) kill('SIGINT')
      },
    )
    expect(code).toBe(130)
    expect(stderr).toContain('probe ended before its report: SIGINT came')
    expect(stderr).toContain('closed the gateway')
  })

  it('a closer taken back is not called; a closing that never ends is cut by a second signal', async () => {
    const { code, stderr } = await run(
      `const back = exit.closeFirst(async () => console.error('closed twice'))\nback()\n` +
        `exit.closeFirst(() => { console.log('closing'); return new Promise(() => {}) })\n` +
        `setInterval(() => {}, 1000)\nconsole.log('ready')`,
      (text, kill) => {
        if (text.includes('ready')) kill('SIGTERM')
        if (text.includes('closing')) kill('SIGTERM')
      },
    )
    expect(code).toBe(143)
    expect(stderr).not.toContain('closed twice')
    expect(stderr).toContain('a second SIGTERM exits at once')
  })

  it('a closing still running after closeWithinMs: what the script started is killed, then the exit', async () => {
    const dir = tempDir('exit-leftovers-')
    const ignoring = `trap "" TERM INT; while :; do sleep 1; done`
    let group = 0
    try {
      const { code, stderr } = await run(
        `import { execFileSync, spawn } from 'node:child_process'\n` +
          // a child in a group of its own, and a daemon that left the tree (a double fork into a session of its
          // own) in the script's directory: both ignore SIGTERM and SIGINT
          `const child = spawn('sh', ['-c', ${JSON.stringify(ignoring)}], { detached: true, stdio: 'ignore' })\n` +
          `execFileSync('sh', ['-c', ${JSON.stringify(`(setsid sh -c '${ignoring}' &)`)}], { cwd: ${JSON.stringify(dir)}, stdio: 'ignore' })\n` +
          `exit.closeFirst(() => new Promise(() => {}))\n` +
          `setInterval(() => {}, 1000)\nconsole.log('ready ' + child.pid)`,
        (text, kill) => {
          const ready = /ready (\d+)/.exec(text)
          if (!ready) return
          group = Number(ready[1])
          kill('SIGINT')
        },
        `, { closeWithinMs: 300, dirs: () => [${JSON.stringify(dir)}] }`,
      )
      expect(code).toBe(130)
      expect(stderr).toContain('probe: still closing after 0.3 s; exiting anyway')
      expect(stderr).toMatch(/probe: killed \d+ process\(es\) it started that were still running/)
      expect(group).toBeGreaterThan(0)
      expect(await waitUntilGone(() => processesInGroup(group))).toEqual([])
      expect(await waitUntilGone(() => processesUnder(dir))).toEqual([])
    } finally {
      if (group) killAll(processesInGroup(group))
      killAll(processesUnder(dir))
    }
  })

  it('an uncaught error: Node says what, this says where', async () => {
    const { code, stderr } = await run(
      `exit.at('final checks')\nsetTimeout(() => { throw new Error('boom') }, 0)`,
    )
    expect(code).toBe(1)
    expect(stderr).toContain('Error: boom')
    expect(stderr).toContain('probe ended before its report: exit code 1 (last at: final checks)')
  })

  it('after its report: nothing more is said', async () => {
    const { code, stderr } = await run(`exit.at('waiting for the processes to end')\nexit.done()`)
    expect(code).toBe(0)
    expect(stderr).toBe('')
  })
})
