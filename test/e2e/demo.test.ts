import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { createServer } from 'node:net'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { steps } from '../../scripts/demo/walkthrough.js'
import { copilotPkgCache, tempDir } from '../support/temp.js'

const root = path.resolve(import.meta.dirname, '../..')
const tsxLoader = import.meta.resolve('tsx')

/**
 * `npm run demo -- --check`: every agent on the mock model, every step of the printed walkthrough sent. The tests
 * at once: each starts processes of its own (the check's on port 0, the others on a port each holds itself).
 */
describe.concurrent('npm run demo', () => {
  it('answers every step of its walkthrough (native API, every agent, every seed API)', {
    timeout: 600_000,
  }, async () => {
    const child = spawn(
      process.execPath,
      ['--import', tsxLoader, 'scripts/demo.ts', '--check', '--port', '0'],
      {
        cwd: root,
        env: {
          ...process.env,
          LOG_LEVEL: 'warn',
          // an empty HOME (codex's `bash -lc` must not source this machine's ~/.bashrc), the shared copilot cache
          HOME: tempDir('demo-home-'),
          COPILOT_PKG_CACHE_HOME: copilotPkgCache(),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d))
    child.stderr.on('data', (d: Buffer) => (output += d))
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    expect(output).toContain(`all ${steps.length} steps answered as expected`)
    expect(code).toBe(0)
    for (const agent of ['claude', 'gemini', 'copilot', 'acp:codex-acp', 'acp:claude-agent-acp'])
      expect(output).toMatch(
        new RegExp(`ok {3}200 POST /v1/runs\\?wait=true \\(Every agent on the same API: ${agent}\\)`),
      )
    for (const route of ['/hello', '/chat', '/run', '/api/codex/run', '/api/codex/stream', '/api/turn/start'])
      expect(output).toContain(` ${route} (Seed`)
  })

  it('on a port already in use says so in one line with what to do, exits 1 and leaves nothing behind', {
    timeout: 120_000,
  }, async () => {
    // what `npm start` on 8000 is to a newcomer who then runs `npm run demo`
    const holder = createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    const port = (holder.address() as { port: number }).port
    const tmp = tempDir('demo-tmp-')
    try {
      const child = spawn(
        process.execPath,
        ['--import', tsxLoader, 'scripts/demo.ts', '--port', String(port)],
        {
          cwd: root,
          env: { ...process.env, LOG_LEVEL: 'warn', TMPDIR: tmp },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      let stderr = ''
      child.stderr.on('data', (d: Buffer) => (stderr += d))
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
      expect(code).toBe(1)
      expect(stderr.trim().split('\n'), stderr).toEqual([
        `demo: port ${port} on 127.0.0.1 is already in use: stop whatever listens there, or set PORT to a free port (PORT=0 picks one); for the demo: npm run demo -- --port ${port + 1}`,
      ])
      expect(readdirSync(tmp).filter((name) => name.startsWith('agent-gateway-demo-'))).toEqual([])
    } finally {
      holder.close()
    }
  })

  it('npm run mock-llm on a port in use, or a port that is none, says so in one line', {
    timeout: 60_000,
  }, async () => {
    const holder = createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    const port = (holder.address() as { port: number }).port
    const run = async (value: string) => {
      const child = spawn(process.execPath, ['--import', tsxLoader, 'test/mock-llm/main.ts'], {
        cwd: root,
        env: { ...process.env, MOCK_LLM_PORT: value },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stderr = ''
      child.stderr.on('data', (d: Buffer) => (stderr += d))
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
      return { code, lines: stderr.trim().split('\n') }
    }
    try {
      // both at once (each a process of its own)
      const [inUse, notAPort] = await Promise.all([run(String(port)), run('eighty')])
      expect(inUse).toEqual({
        code: 1,
        lines: [`mock-llm: port ${port} is already in use: set MOCK_LLM_PORT to a free port (0 picks one)`],
      })
      expect(notAPort).toEqual({
        code: 2,
        lines: ['mock-llm: MOCK_LLM_PORT must be a port from 0 to 65535, got "eighty"'],
      })
    } finally {
      holder.close()
    }
  })
})
