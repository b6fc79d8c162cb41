import { existsSync, type FSWatcher, readFileSync, watch, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { CodexExecDriver } from '../../src/agents/codex/exec-driver.js'
import { loadConfig } from '../../src/config/load.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayEnv } from '../support/gateway.js'
import { killAll, listProcesses, processesUnder } from '../support/processes.js'

/**
 * codex starts a login shell to snapshot the user's environment (`bash -lc ...`, a session of its own, in the
 * background), and a slow login profile keeps it, or what it started, alive past codex's own exit: codex kills
 * only the shell, so what the profile runs is left with init as its parent, outside the run's process group. It
 * must be gone when the run's end is told (run.completed), not swept a moment later: a next request in that
 * directory (seed 002's cases that assert nothing runs under the workspace) found one before. The profile's
 * process ignores SIGTERM here, as a shell waiting on a child does, so only the sweep's SIGKILL (KILL_GRACE_MS,
 * 500 ms here, after its SIGTERM) ends it: on the old code it was still there at run.completed every time.
 */
describe('codex exec: what its shell snapshot left is gone when the run ends', () => {
  let mock: MockLlm | undefined
  let workspace: string | undefined
  let watcher: FSWatcher | undefined
  /** Lets a held model answer go (the snapshot never came: the test failed). */
  let giveUp = () => {}
  afterEach(async () => {
    watcher?.close()
    giveUp()
    if (workspace) killAll(processesUnder(workspace))
    workspace = undefined
    await mock?.close()
    mock = undefined
  })

  it('a run that ends while its snapshot runs is told ended once the snapshot is gone', async () => {
    mock = await startMockLlm()
    const gateway = gatewayEnv(mock)
    workspace = gateway.workspace
    const home = gateway.env.HOME!
    const pidFile = path.join(home, 'snapshot-pid')
    // bash reads .bash_profile, another login shell .profile; the pid is renamed into place, so it is whole when seen
    const profile = `sh -c 'trap "" TERM; echo $$ > ${pidFile}.tmp; mv ${pidFile}.tmp ${pidFile}; exec sleep 300'\n`
    for (const name of ['.bash_profile', '.profile']) writeFileSync(path.join(home, name), profile)
    /** The pid of the profile's process, once it runs (it stays: `exec sleep`). */
    const snapshotUp = new Promise<number>((resolve) => {
      giveUp = () => resolve(-1)
      const seen = () => {
        if (!existsSync(pidFile)) return
        watcher?.close()
        resolve(Number(readFileSync(pidFile, 'utf8')))
      }
      watcher = watch(home, seen)
      seen()
    })
    // the model answers once the snapshot runs: codex exits with it still running
    mock.script(async () => {
      await snapshotUp
      return { kind: 'text', text: 'answered' }
    })

    const driver = new CodexExecDriver(loadConfig(gateway.env, gateway.dir), gateway.env)
    let under: string[] | undefined
    for await (const event of driver.run(
      { prompt: 'answer', cwd: workspace },
      new AbortController().signal,
    )) {
      if (event.type !== 'run.completed') continue
      expect(event).toMatchObject({ status: 'succeeded', finalResponse: 'answered' })
      // what runs in the run's directory the moment its end is told
      under = processesUnder(workspace).map((p) => `${p.pid} ${p.cmd}`)
    }
    expect(under).toEqual([])
    const pid = await snapshotUp
    expect(pid).toBeGreaterThan(0)
    expect(listProcesses().some((p) => p.pid === pid)).toBe(false)
  })
})
