import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { processesUnder, waitUntilGone } from '../support/processes.js'
import { tempDir } from '../support/temp.js'

const bench = fileURLToPath(new URL('../../bench/session-lifecycle-stress.ts', import.meta.url))
const tsxLoader = import.meta.resolve('tsx')

/**
 * The lifecycle stress stopped by SIGINT mid-run closes its gateway and the agents first, then exits 130: it once
 * exited at once, its temp dir was removed under a codex still running, and codex's lock file came back in it.
 * Later the gateway's stop waited forever for a turn queued behind a running one (test/integration/
 * stop-queued-turn.test.ts): the script gave up closing after a minute and exited under its codex app-server.
 * The real bench script, its own temp dir (TMPDIR), a real gateway with the real codex and the mock model.
 */
describe('the lifecycle stress stopped by a signal', () => {
  it('SIGINT mid-run: the gateway and its agents closed, then exit 130; nothing left in its temp dir', {
    timeout: 180_000,
  }, async () => {
    const tmp = tempDir('stress-signal-')
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp }
    // its own temp base under TMPDIR, removed as it exits (the suite's would be kept for the suite's teardown)
    delete env.AGW_TEST_TMP
    const child = spawn(
      process.execPath,
      ['--import', tsxLoader, bench, '--steps', '400', '--sessions', '2', '--slow-ms', '2000', '--verbose'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stdout = ''
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    // a few steps in: sessions with their codex app-servers, turns running. One SIGINT only: output written
    // before the script handled it still comes, and a second SIGINT exits at once (exit-reasons.ts).
    let signalled = false
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
      if (!signalled && /^step 4 /m.test(stdout)) {
        signalled = true
        child.kill('SIGINT')
      }
    })
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
    expect(stdout, stderr).toMatch(/^step 4 /m)
    expect({ code, stderr }).toEqual({
      code: 130,
      stderr: expect.stringContaining('the lifecycle stress ended before its report: SIGINT came'),
    })
    expect(await waitUntilGone(() => processesUnder(tmp))).toEqual([])
    // its base (agent-gateway-tests/w<pid>-*, the gateway's data and codex homes) was removed as it exited, and
    // nothing wrote into it after
    const bases = path.join(tmp, 'agent-gateway-tests')
    expect(
      readdirSync(bases).filter((name) => name.startsWith(`w${child.pid}-`)),
      stderr,
    ).toEqual([])
    expect(stderr).toContain('closing before it exits')
  })
})
