import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, expect, TestRunner } from 'vitest'
import type { LogSink } from '../../src/http/logging.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Run } from '../../src/protocol/runs.js'
import type { Approval, Turn } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { makeCodexHome } from './codex-home.js'
import { h2connect } from './h2-client.js'
import { copilotPkgCache, tempDir } from './temp.js'

export const testModel = 'gpt-5.5'
export const testApiKey = 'sk-test-secret-key-0123456789'

/** The environment of a gateway that runs the real codex against the mock model server. */
export function gatewayEnv(
  mock: Pick<MockLlm, 'baseUrl'> | null,
  overrides: Record<string, string | undefined> = {},
) {
  const dir = tempDir('gw-')
  const workspace = path.join(dir, 'workspace')
  mkdirSync(workspace, { recursive: true })
  const home = path.join(dir, 'home')
  mkdirSync(home, { recursive: true })
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    // An empty HOME: the `bash -lc` codex runs commands with must not source this machine's ~/.bashrc
    // (here it runs `pyenv rehash`, whose lock, left behind by a killed shell, stalls every later shell 60 s).
    HOME: home,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    DATA_DIR: path.join(dir, 'data'),
    WORKSPACE_DIR: workspace,
    CODEX_HOME: makeCodexHome(),
    CODEX_MODEL: testModel,
    CODEX_MAX_RETRIES: '0',
    KILL_GRACE_MS: '500',
    // copilot unpacks ~235 MB on its first start (any probe of it, e.g. GET /health): once per suite run.
    COPILOT_PKG_CACHE_HOME: copilotPkgCache(),
    ...(mock ? { CODEX_API_BASE_URL: mock.baseUrl, CODEX_API_KEY: testApiKey } : {}),
    ...overrides,
  }
  return { env, dir, workspace }
}

/**
 * Loads the gateway's modules (src/http/server.ts and all it imports) in a hook of their own, before the tests of a
 * file or describe block that start gateways in this process (startGateway). Their first load is vitest
 * transforming most of src/: 35-52 s on a 2-core machine at load 20-25 (session 36), which the first test's 60 s
 * (or a hook's 30 s) paid besides its own work; acp-stuck-process-retired and session-forced-end-reopen timed out
 * so. The budget is for that load alone; in a worker that loaded them already (shared-modules) it costs nothing.
 */
export function gatewayModules(): void {
  beforeAll(async () => {
    await import('../../src/http/server.js')
    const file = expect.getState().testPath
    if (file) modulesLoadedFor.add(file)
  }, 180_000)
}

/** The test files whose gatewayModules hook ran (in this worker). */
const modulesLoadedFor = new Set<string>()

/**
 * Throws when a test file starts a gateway in its process before a gatewayModules hook of its own ran (none called, or
 * one in a describe block that runs later): the file works where an earlier file of its worker loaded the modules and
 * times out where it is the first (vitest's order depends on the durations). Outside a vitest worker (bench/, a
 * child process of a test) it checks nothing.
 */
function assertGatewayModules(): void {
  if (!process.env.VITEST) return
  let file: string | undefined
  try {
    file = expect.getState().testPath
  } catch {
    // not in a vitest worker, though its env says VITEST: a process a test started (bench/session-lifecycle-stress)
    return
  }
  if (!file || modulesLoadedFor.has(file)) return
  throw new Error(
    `${path.relative(process.cwd(), file)} starts a gateway in its process without gatewayModules() before it: call ` +
      'gatewayModules() at the top of the file or of the describe block that starts it (sharedGateway, ' +
      "gatewayPerTest and stubborn-agent's gateways() do), so the first load of src/ gets a hook of its own",
  )
}

/** A gateway in this process, listening on a free loopback port (real sockets). */
export async function startGateway(
  mock: MockLlm | null,
  overrides: Record<string, string | undefined> = {},
  opts: { logSink?: LogSink } = {},
) {
  assertGatewayModules()
  const { env, dir, workspace } = gatewayEnv(mock, overrides)
  // loaded here, not at the top: a file that only builds a server process's env (gatewayEnv) or talks HTTP to one
  // does not load the whole server into its worker (seconds of CPU per file)
  const { startServer } = await import('../../src/http/server.js')
  const server = await startServer({
    env,
    cwd: dir,
    ...(opts.logSink ? { logger: true, logStream: opts.logSink } : { logger: false }),
  })
  return { ...server, env, dir, workspace }
}

export type TestGateway = Awaited<ReturnType<typeof startGateway>>

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}

/** Reads an NDJSON response to the end. */
export async function readNdjson(res: Response): Promise<Record<string, unknown>[]> {
  const text = await res.text()
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

/**
 * `POST /v1/runs?wait=true` with `body` to the run's end, then the run's stored events (NDJSON); expects 200 and a
 * run that succeeded (the failure's message: the run, then its last events, each cut to 600 characters: a CI log
 * keeps only the message's start).
 */
export async function succeededRun(
  gatewayUrl: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ run: Run; events: StoredEvent[] }> {
  const res = await postJson(`${gatewayUrl}/v1/runs?wait=true`, body, headers)
  const run = (await res.json()) as Run
  expect(res.status, JSON.stringify(run)).toBe(200)
  const events = (await readNdjson(
    await fetch(`${gatewayUrl}/v1/runs/${run.id}/events`, {
      headers: { accept: 'application/x-ndjson', ...headers },
    }),
  )) as StoredEvent[]
  const tail = events.slice(-6).map((e) => JSON.stringify(e).slice(0, 600))
  expect(run.status, [JSON.stringify(run).slice(0, 1000), ...tail].join('\n')).toBe('succeeded')
  return { run, events }
}

/**
 * Settings that point claude, gemini and copilot at `mock` with the given keys (claude without retries, a fresh
 * Gemini home and a fresh TMPDIR for the agents).
 */
export function mockAgentSettings(
  mock: MockLlm,
  keys: { anthropic: string; gemini: string; copilot: string },
) {
  return {
    ANTHROPIC_BASE_URL: mock.url,
    ANTHROPIC_API_KEY: keys.anthropic,
    CLAUDE_CODE_MAX_RETRIES: '0',
    GEMINI_API_KEY: keys.gemini,
    GOOGLE_GEMINI_BASE_URL: mock.url,
    GEMINI_MODEL: 'gemini-2.5-flash',
    GEMINI_CLI_HOME: tempDir('gemini-home-'),
    TMPDIR: tempDir('agent-tmp-'),
    COPILOT_PROVIDER_BASE_URL: mock.baseUrl,
    COPILOT_PROVIDER_API_KEY: keys.copilot,
    COPILOT_MODEL: testModel,
  }
}

/**
 * One mock model and one gateway for a whole describe block (started before, closed after); the mock's
 * script and recordings are reset after each test. Read `mock` and `gw` inside tests, not at collection time.
 */
export function sharedGateway(overrides: Record<string, string | undefined> = {}) {
  const shared = {} as { mock: MockLlm; gw: TestGateway }
  gatewayModules()
  beforeAll(async () => {
    shared.mock = await startMockLlm()
    shared.gw = await startGateway(shared.mock, overrides)
  })
  afterAll(async () => {
    await shared.gw?.close()
    await shared.mock?.close()
  })
  afterEach(() => shared.mock?.reset())
  return shared
}

/**
 * One mock model for a describe block and a gateway per test, which the test starts (`fx.gw = await
 * startGateway(fx.mock, ...)`) and may stop itself (`fx.stop()`: the graceful close the tests of a stop measure);
 * one still running after a test is closed at once. The mock's script and recordings are reset after each test.
 */
export function gatewayPerTest() {
  const fx = {
    stop: async () => {
      const closing = fx.gw!.close()
      fx.gw = undefined
      await closing
    },
  } as { mock: MockLlm; gw: TestGateway | undefined; stop: () => Promise<void> }
  gatewayModules()
  beforeAll(async () => {
    fx.mock = await startMockLlm()
  })
  afterEach(async () => {
    await fx.gw?.close(0)
    fx.gw = undefined
    fx.mock.reset()
  })
  afterAll(async () => {
    await fx.mock?.close()
  })
  return fx
}

/** `sharedGateway` with an h2c session to the gateway as well (`h2`, opened after it starts, closed first). */
export function sharedH2Gateway(overrides: Record<string, string | undefined> = {}) {
  const shared = sharedGateway(overrides) as ReturnType<typeof sharedGateway> & {
    h2: ReturnType<typeof h2connect>
  }
  beforeAll(() => {
    shared.h2 = h2connect(shared.gw.url)
  })
  afterAll(() => {
    shared.h2?.close()
  })
  return shared
}

/**
 * How long a waiter below waits at most: the running test's own timeout (a test given room for a slow agent gives
 * its waits the same room), at least 30 s; 30 s outside a test (a hook).
 */
function waitLimitMs(): number {
  return Math.max(30_000, TestRunner.getCurrentTest()?.timeout ?? 0)
}

/** Reads a session (`readSession`) until its turn `turnId` is neither queued nor running (`waitLimitMs`); that turn. */
export async function finishedTurn(
  readSession: () => Promise<{ turns: Turn[] }>,
  turnId: string,
): Promise<Turn> {
  const deadline = Date.now() + waitLimitMs()
  while (Date.now() < deadline) {
    const t = (await readSession()).turns.find((x) => x.id === turnId)
    if (t && !['queued', 'running'].includes(t.status)) return t
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`turn ${turnId} did not finish`)
}

/**
 * `check` until it gives a value (`waitLimitMs` at most), checked again when the session's event stream (replayed, then
 * live) brings an event `wakes` picks, else each second: a waiter costs a request per event it waits for, not one
 * every 25-50 ms (each ~1.5-2 ms of the test process's CPU, the gateway's and the client's: a file of concurrent
 * turns paid seconds for its polls).
 */
async function checkedOnEvents<T>(
  url: string,
  sessionId: string,
  wakes: (ev: StoredEvent) => boolean,
  check: () => Promise<T | undefined>,
  what: string,
): Promise<T> {
  const stop = new AbortController()
  let woken = false
  let wake = () => {}
  const follow = (async () => {
    const res = await fetch(`${url}/v1/sessions/${sessionId}/events`, {
      headers: { accept: 'application/x-ndjson' },
      signal: stop.signal,
    })
    let text = ''
    const decoder = new TextDecoder()
    for await (const chunk of res.body ?? []) {
      text += decoder.decode(chunk, { stream: true })
      const lines = text.split('\n')
      text = lines.pop() ?? ''
      if (lines.some((line) => line && wakes(JSON.parse(line) as StoredEvent))) {
        woken = true
        wake()
      }
    }
  })().catch(() => {}) // aborted, or the stream failed: the checks go on each second
  try {
    const deadline = Date.now() + waitLimitMs()
    while (Date.now() < deadline) {
      woken = false
      const found = await check()
      if (found !== undefined) return found
      if (woken) continue // an event came during the check
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(1000, Math.max(0, deadline - Date.now())))
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      wake = () => {}
    }
    throw new Error(what)
  } finally {
    stop.abort()
    await follow
  }
}

/** `finishedTurn` of a session of the gateway at `url` (read without a token), read again when the turn's end comes. */
export const finishedTurnAt = (url: string, sessionId: string, turnId: string): Promise<Turn> =>
  checkedOnEvents(
    url,
    sessionId,
    (ev) => (ev.type === 'turn.completed' || ev.type === 'turn.failed') && ev.turnId === turnId,
    async () => {
      const read = (await (await fetch(`${url}/v1/sessions/${sessionId}`)).json()) as { turns: Turn[] }
      const t = read.turns.find((x) => x.id === turnId)
      return t && !['queued', 'running'].includes(t.status) ? t : undefined
    },
    `turn ${turnId} did not finish`,
  )

/** The first pending approval of a session of the gateway at `url`, once one is asked (`waitLimitMs` at most). */
export const pendingApprovalAt = (url: string, sessionId: string): Promise<Approval> =>
  checkedOnEvents(
    url,
    sessionId,
    (ev) => ev.type === 'approval.requested',
    async () => {
      const list = (await (
        await fetch(`${url}/v1/approvals?state=pending&sessionId=${sessionId}`)
      ).json()) as {
        approvals: Approval[]
      }
      return list.approvals[0]
    },
    'no approval was requested',
  )

/**
 * The conversation a model request carried, as text, for history assertions: its `input` (OpenAI Responses),
 * `messages` (Anthropic Messages, Chat Completions) or `contents` (Gemini). Side requests (`side: true`, e.g.
 * Claude Code naming the session) are skipped: `index` counts the scripted requests only, so -1 is the last
 * non-side request.
 */
export function requestInput(mock: MockLlm, index = -1): string {
  const request = mock.requests.filter((r) => !r.side).at(index)
  if (!request) throw new Error(`the mock has no (non-side) request at ${index}`)
  const body = (request.body ?? {}) as { input?: unknown; messages?: unknown; contents?: unknown }
  return JSON.stringify(body.input ?? body.messages ?? body.contents ?? '')
}

/**
 * A session's events at the gateway at `url` (its NDJSON stream replays, then follows) up to and with the first
 * that `last` holds for; all of them when the stream ended first.
 */
export async function sessionEventsUntil(
  url: string,
  sessionId: string,
  last: (ev: StoredEvent) => boolean,
): Promise<StoredEvent[]> {
  const stop = new AbortController()
  const res = await fetch(`${url}/v1/sessions/${sessionId}/events`, {
    headers: { accept: 'application/x-ndjson' },
    signal: stop.signal,
  })
  const events: StoredEvent[] = []
  let text = ''
  const decoder = new TextDecoder()
  try {
    for await (const chunk of res.body ?? []) {
      text += decoder.decode(chunk, { stream: true })
      const lines = text.split('\n')
      text = lines.pop() ?? ''
      for (const line of lines.filter(Boolean)) {
        const ev = JSON.parse(line) as StoredEvent
        events.push(ev)
        if (last(ev)) return events
      }
    }
  } finally {
    stop.abort()
  }
  return events
}

/** A session's events up to the end of turn `turnId` (`turn.completed` or `turn.failed`): sessionEventsUntil. */
export const sessionEventsUntilTurnEnd = (url: string, sessionId: string, turnId: string) =>
  sessionEventsUntil(
    url,
    sessionId,
    (ev) => (ev.type === 'turn.completed' || ev.type === 'turn.failed') && ev.turnId === turnId,
  )
