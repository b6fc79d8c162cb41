import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { waitFor } from '../contract/driver-contract.js'
import type { MockLlm } from '../mock-llm/index.js'
import { expectCancelledRunEndsEscaped } from '../support/escaped-commands.js'
import { postJson, sharedGateway, type TestGateway } from '../support/gateway.js'
import { killAll, listProcesses, type ProcInfo, processesUnder, waitUntilGone } from '../support/processes.js'

// codex reads a trusted project's `.codex/config.toml` in a thread's cwd (and up to the project root) on top of
// the operator's config; its `include_only` (applied last) would drop the gateway's markers from the commands
// run there, and a command that escaped codex's tree would outlive its run. The gateway asks codex's
// config/read for that cwd and hands every thread and process there the list with the markers' names added.

let arg: string
beforeEach(() => {
  arg = `${3000 + Math.floor(Math.random() * 6000)}.${process.pid}`
})
afterEach(() => killAll(escaped()))

const escaped = (): ProcInfo[] => listProcesses().filter((p) => p.cmd === `sleep ${arg}`)
const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T
const sandbox = 'danger-full-access'

/** A directory in the gateway's workspace that codex trusts, its project config keeping only PATH. */
function trustedProject(gw: TestGateway, includeOnly: string[] | null = ['PATH']): string {
  const dir = path.join(gw.workspace, `project-${arg}`)
  mkdirSync(dir, { recursive: true })
  if (includeOnly) projectConfig(dir, includeOnly)
  appendFileSync(
    path.join(gw.env.CODEX_HOME as string, 'config.toml'),
    `\n[projects.${JSON.stringify(dir)}]\ntrust_level = "trusted"\n`,
  )
  return dir
}

function projectConfig(dir: string, includeOnly: string[]) {
  mkdirSync(path.join(dir, '.codex'), { recursive: true })
  writeFileSync(
    path.join(dir, '.codex', 'config.toml'),
    `shell_environment_policy.include_only = ${JSON.stringify(includeOnly)}\n`,
  )
}

/** The environment the command saw (written to `file` in its cwd), as a map. */
function seenEnv(dir: string, file = 'env.txt'): Map<string, string> {
  const lines = readFileSync(path.join(dir, file), 'utf8').split('\n').filter(Boolean)
  return new Map(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
}

/** Writes its environment, double-forks a sleep out of codex's tree (staying in the cwd), then sleeps on. */
const escapingCommand = () => ({
  kind: 'exec_command' as const,
  cmd: `env > env.txt; (setsid sleep ${arg} </dev/null >/dev/null 2>&1 &); sleep 31`,
})

/** The project's include_only held (HOME gone) and the markers came through it. */
function expectMarkersKept(dir: string, names: string[]) {
  const env = seenEnv(dir)
  expect(env.has('HOME')).toBe(false)
  for (const name of names) expect(env.get(name)).toMatch(/\S/)
}

const cancelledWhileEscaped = (gw: TestGateway, body: Record<string, unknown>) =>
  expectCancelledRunEndsEscaped(gw.url, { prompt: 'escape', sandbox, ...body }, escaped)

describe('a trusted workspace whose .codex/config.toml sets include_only = ["PATH"]', () => {
  const shared = sharedGateway({ ALLOW_DANGER_FULL_ACCESS: 'true' })
  let mock: MockLlm
  let gw: TestGateway
  beforeEach(() => {
    ;({ mock, gw } = shared)
  })

  it('a warm run (app-server thread): its commands carry the markers, what escaped ends with the run', {
    timeout: 120_000,
  }, async () => {
    const cwd = trustedProject(gw)
    mock.script(escapingCommand(), { kind: 'text', text: 'never' })
    await cancelledWhileEscaped(gw, { cwd })
    expectMarkersKept(cwd, ['AGENT_GATEWAY_APP_SERVER', 'AGENT_GATEWAY_THREAD', 'AGENT_GATEWAY_SERVER'])
  })

  it('a session turn (app-server thread) interrupted: what escaped ends, the markers came through', {
    timeout: 120_000,
  }, async () => {
    const cwd = trustedProject(gw)
    const session = await json<Session>(postJson(`${gw.url}/v1/sessions`, { agent: 'codex', cwd, sandbox }))
    mock.script(escapingCommand(), { kind: 'text', text: 'never' })
    const started = await json<Turn>(
      postJson(`${gw.url}/v1/sessions/${session.id}/turns`, { input: 'escape' }),
    )
    await waitFor(() => escaped().length > 0)
    const interrupted = await json<Turn>(postJson(`${gw.url}/v1/sessions/${session.id}/interrupt`, {}))
    expect(interrupted).toMatchObject({ id: started.id, status: 'interrupted' })
    expect(await waitUntilGone(escaped, 30_000)).toEqual([])
    expectMarkersKept(cwd, ['AGENT_GATEWAY_APP_SERVER', 'AGENT_GATEWAY_THREAD', 'AGENT_GATEWAY_SERVER'])
  })

  it('a codex exec run: its commands carry the marker, what escaped ends with the run', {
    timeout: 120_000,
  }, async () => {
    const cwd = trustedProject(gw)
    mock.script(escapingCommand(), { kind: 'text', text: 'never' })
    await cancelledWhileEscaped(gw, { cwd, agent: 'codex-exec' })
    expectMarkersKept(cwd, ['AGENT_GATEWAY_APP_SERVER', 'AGENT_GATEWAY_SERVER'])
  })

  it('a project config written after a thread or run in the same cwd is read for the next one (cache invalidated)', {
    timeout: 120_000,
  }, async () => {
    const cwd = trustedProject(gw, null)
    /** A session's turn (a new thread each time: no thread started ahead) or a codex exec run writes its env. */
    const envOf = async (how: 'session' | 'exec', file: string) => {
      mock.reset()
      mock.script({ kind: 'exec_command', cmd: `env > ${file}` }, { kind: 'text', text: 'done' })
      if (how === 'exec') {
        const run = await json<Run>(
          postJson(`${gw.url}/v1/runs?wait=true`, { prompt: 'env', sandbox, cwd, agent: 'codex-exec' }),
        )
        expect(run.status).toBe('succeeded')
      } else {
        const session = await json<Session>(
          postJson(`${gw.url}/v1/sessions`, { agent: 'codex', cwd, sandbox }),
        )
        const turn = await json<Turn>(
          postJson(`${gw.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'env' }),
        )
        expect(turn.status).toBe('completed')
      }
      return seenEnv(cwd, file)
    }
    for (const how of ['session', 'exec'] as const)
      expect((await envOf(how, `env-before-${how}.txt`)).has('HOME')).toBe(true)
    projectConfig(cwd, ['PATH'])
    for (const how of ['session', 'exec'] as const) {
      const env = await envOf(how, `env-after-${how}.txt`)
      expect(env.has('HOME')).toBe(false)
      expect(env.get('AGENT_GATEWAY_APP_SERVER')).toMatch(/\S/)
    }
  })
})

describe('warm runs off: a codex exec run reads the config through an app-server that is closed', () => {
  const shared = sharedGateway({ ALLOW_DANGER_FULL_ACCESS: 'true', CODEX_WARM_RUNS: 'false' })

  it('the markers come through the project include_only, and no app-server is left running', {
    timeout: 120_000,
  }, async () => {
    const { mock, gw } = shared
    const cwd = trustedProject(gw)
    const appServers = () =>
      processesUnder(gw.env.DATA_DIR as string).filter((p) => p.cmd.includes('app-server'))
    mock.script(escapingCommand(), { kind: 'text', text: 'never' })
    const res = await postJson(`${gw.url}/v1/runs`, { prompt: 'escape', sandbox, cwd })
    const run = await json<Run>(res)
    await waitFor(() => escaped().length > 0)
    // the read was done before codex exec started: its app-server is gone already
    expect(appServers()).toEqual([])
    expect((await postJson(`${gw.url}/v1/runs/${run.id}/cancel`, {})).status).toBe(200)
    expect(await waitUntilGone(escaped, 30_000)).toEqual([])
    expectMarkersKept(cwd, ['AGENT_GATEWAY_APP_SERVER', 'AGENT_GATEWAY_SERVER'])
    expect(existsSync(path.join(cwd, 'env.txt'))).toBe(true)
  })
})
