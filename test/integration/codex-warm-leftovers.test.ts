import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { waitFor } from '../contract/driver-contract.js'
import type { Step } from '../mock-llm/index.js'
import { postJson, sharedGateway } from '../support/gateway.js'
import { killAll, listProcesses, type ProcInfo, waitUntilGone } from '../support/processes.js'

/**
 * A warm run or a session turn is served by the shared codex app-server, which outlives it: what its thread left
 * outside the app-server's tree must be gone when its end is told, not swept a moment later. Two kinds, both
 * ignoring SIGTERM (as a shell waiting on a child does), so only the sweep's SIGKILL after KILL_GRACE_MS (500 ms
 * here) ends them: a command's daemon (`setsid ... &`, working in `/`, naming its thread), and what the login
 * profile starts in the background when codex snapshots the shell for a thread (a `bash -lc` of its own, without
 * the thread's environment policy: it names no thread, and works in the thread's directory). On the old code the
 * sweep at a turn's end was not waited for (both still ran at run.completed / the turn's end), and a thread
 * whose turns ran no command left its snapshot's job running after its close (a session's, a warm run's).
 */
const tag = `${5000 + Math.floor(Math.random() * 4000)}.${process.pid}`
const snapshotJob = `sleep 301${tag}`
const daemon = `sleep 302${tag}`
/** Every process of this file's: the sleeps, and the shells that start them (killed after each test). */
const ours = (): ProcInfo[] => listProcesses().filter((p) => p.cmd.includes(tag))
const sleeps = (cmd: string): ProcInfo[] => listProcesses().filter((p) => p.cmd === cmd)
const stillRunning = (seen: ProcInfo[]): string[] => {
  const pids = new Set(seen.map((p) => p.pid))
  return listProcesses()
    .filter((p) => pids.has(p.pid))
    .map((p) => `${p.pid} ${p.cmd}`)
}
const sandbox = 'danger-full-access'
const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T

describe('what a turn on the shared codex app-server left is gone when its end is told', () => {
  const shared = sharedGateway({ ALLOW_DANGER_FULL_ACCESS: 'true' })
  beforeAll(() => {
    // bash reads .bash_profile, another login shell .profile
    const profile = `(sh -c 'trap "" TERM; exec ${snapshotJob}' </dev/null >/dev/null 2>&1 &)\n`
    for (const name of ['.bash_profile', '.profile'])
      writeFileSync(path.join(shared.gw.env.HOME!, name), profile)
  })
  afterEach(() => killAll(ours()))

  /**
   * The model's answer once a process of each of `kinds` runs; records them and the snapshot jobs running then in
   * `seen` (a thread opened ahead for the next warm run may have had its snapshot's job ended already: not waited for).
   */
  const answerOnce = (seen: ProcInfo[], kinds: string[]) => async (): Promise<Step> => {
    await waitFor(() => kinds.every((cmd) => sleeps(cmd).length > 0))
    seen.push(...new Set([...kinds, snapshotJob].flatMap(sleeps)))
    return { kind: 'text', text: 'done' }
  }
  const command = {
    kind: 'exec_command',
    cmd: `(cd / && setsid sh -c 'trap "" TERM; exec ${daemon}' </dev/null >/dev/null 2>&1 &); echo started`,
  } as const

  // first: the gateway's first warm run opens its thread now, with the profile in place
  it("a warm one-shot run that ran no command: its snapshot's job ends as its thread is let go of", {
    timeout: 60_000,
  }, async () => {
    const { mock, gw } = shared
    const seen: ProcInfo[] = []
    mock.script(answerOnce(seen, [snapshotJob]))
    const run = await json<Run>(postJson(`${gw.url}/v1/runs?wait=true`, { prompt: 'hi', sandbox }))
    expect(run).toMatchObject({ status: 'succeeded', finalResponse: 'done' })
    // the thread is let go of just after run.completed, off the run's path: a plain warm run waits for no scan
    const pids = new Set(seen.map((p) => p.pid))
    expect(await waitUntilGone(() => listProcesses().filter((p) => pids.has(p.pid)))).toEqual([])
  })

  it('a warm one-shot run whose command left a daemon: it and the snapshot jobs are gone at run.completed', {
    timeout: 60_000,
  }, async () => {
    const { mock, gw } = shared
    const seen: ProcInfo[] = []
    mock.script(command, answerOnce(seen, [daemon]))
    const run = await json<Run>(postJson(`${gw.url}/v1/runs?wait=true`, { prompt: 'start it', sandbox }))
    expect(run).toMatchObject({ status: 'succeeded', finalResponse: 'done' })
    expect(seen.map((p) => p.cmd)).toContain(daemon)
    expect(stillRunning(seen)).toEqual([])
  })

  it("a session turn whose command left a daemon: both are gone at the turn's end", {
    timeout: 60_000,
  }, async () => {
    const { mock, gw } = shared
    const session = await json<Session>(
      postJson(`${gw.url}/v1/sessions`, { sandbox, approvalPolicy: 'never' }),
    )
    const seen: ProcInfo[] = []
    mock.script(command, answerOnce(seen, [snapshotJob, daemon]))
    const turn = await json<Turn>(
      postJson(`${gw.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'start it' }),
    )
    expect(turn).toMatchObject({ status: 'completed', finalResponse: 'done' })
    expect(stillRunning(seen)).toEqual([])
    expect((await postJson(`${gw.url}/v1/sessions/${session.id}/archive`, {})).status).toBe(200)
  })

  it("a session whose turn ran no command: its snapshot's job is gone once it is closed", {
    timeout: 60_000,
  }, async () => {
    const { mock, gw } = shared
    killAll(ours())
    const session = await json<Session>(
      postJson(`${gw.url}/v1/sessions`, { sandbox, approvalPolicy: 'never' }),
    )
    const seen: ProcInfo[] = []
    mock.script(answerOnce(seen, [snapshotJob]))
    const turn = await json<Turn>(
      postJson(`${gw.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'hi' }),
    )
    expect(turn).toMatchObject({ status: 'completed', finalResponse: 'done' })
    expect((await postJson(`${gw.url}/v1/sessions/${session.id}/archive`, {})).status).toBe(200)
    expect(stillRunning(seen)).toEqual([])
  })
})
