import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Run } from '../../src/protocol/runs.js'
import type { Session } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import {
  gatewayModules,
  mockAgentSettings,
  postJson,
  readNdjson,
  startGateway,
  succeededRun,
  type TestGateway,
} from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'

/**
 * The key proxy (MODEL_KEY_PROXY): in danger-full-access a command that reads its agent's environment
 * (`/proc/$PPID/environ`, every ancestor's, and every /proc/<pid>/environ it may read) finds a token of the
 * agent's own where the key was, never the real key; the model still gets the real key (from the proxy), and
 * once the agent process ended its token is refused. Without the proxy the same command finds the key.
 * Keys are random per run: other gateways on this machine run agents with the test suite's fixed keys.
 */
const fresh = (name: string) => `${name}-${randomBytes(12).toString('hex')}`
const apiToken = fresh('gw-api-token')
const codexKey = fresh('codex-secret-key')
const openaiKey = fresh('openai-secret-key')
const anthropicKey = fresh('anthropic-secret-key')
const geminiKey = fresh('gemini-secret-key')
const copilotKey = fresh('copilot-secret-key')
const realKeys = [codexKey, openaiKey, anthropicKey, geminiKey, copilotKey]
const auth = { authorization: `Bearer ${apiToken}` }

/**
 * Prints the environment of the command's parent (the agent, or the shell the agent started) and of each
 * ancestor (PATH and every variable named like a key, token, secret or URL: copilot cuts a long output before it
 * reaches the model), then every key-looking line of every /proc/<pid>/environ this user can read.
 */
const probe = [
  // codex (inside codex-acp) subscribes to a command's output after it started: what it printed before never
  // reaches the ACP wire (acp-command-output.test.ts)
  'sleep 0.5',
  'p=$PPID',
  // no command substitution: Gemini CLI refuses `$(...)` in a shell command
  'while [ "$p" -gt 1 ]; do echo "== $p"; cat /proc/$p/comm; tr "\\0" "\\n" < /proc/$p/environ 2>/dev/null | grep -E "^(PATH|[A-Z_]*(KEY|TOKEN|SECRET|URL)[A-Z_]*)="; q=$p; while read -r k v; do [ "$k" = PPid: ] && p=$v; done < /proc/$q/status; done',
  'echo "== all"',
  // one `cat` for every process (a `tr` per process took 10 s and more on a loaded machine: the suite's CI run saw
  // a run fail under load); cat goes on past the files it may not read or that vanished
  'cat /proc/[0-9]*/environ 2>/dev/null | tr "\\0" "\\n" | grep -E "^[A-Z_]*(API_KEY|AUTH_TOKEN)=" | sort -u',
  'echo probed-environ',
].join('; ')

const agentKeyVar = {
  codex: 'CODEX_API_KEY',
  claude: 'ANTHROPIC_API_KEY',
  gemini: 'GEMINI_API_KEY',
  copilot: 'COPILOT_PROVIDER_API_KEY',
} as const

/** What the command printed, as the model got it back (unredacted: the redactor works on stored events only). */
function probeOutput(mock: MockLlm): string {
  const found = mock.requests.flatMap((r) => stringsIn(r.body)).filter((s) => s.includes('probed-environ'))
  expect(found.length, 'the command ran and its output reached the model').toBeGreaterThan(0)
  return found.join('\n')
}

function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.flatMap(stringsIn)
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsIn)
  return []
}

function expectRealKeyUpstream(mock: MockLlm, family: keyof typeof agentKeyVar) {
  const calls = mock.requests.filter((r) => !r.side)
  expect(calls.length).toBeGreaterThan(0)
  for (const r of calls)
    if (family === 'codex') expect(r.headers.authorization).toBe(`Bearer ${codexKey}`)
    else if (family === 'claude') expect(r.headers['x-api-key']).toBe(anthropicKey)
    else if (family === 'gemini') expect(r.headers['x-goog-api-key']).toBe(geminiKey)
    else expect(r.headers.authorization).toBe(`Bearer ${copilotKey}`)
}

const commandOutput = (events: StoredEvent[]) =>
  events
    .map((e) =>
      e.type === 'item.completed' && e.item.type === 'command_execution' ? e.item.aggregatedOutput : '',
    )
    .join('\n')

function script(mock: MockLlm) {
  mock.reset()
  mock.setDefault({ kind: 'text', text: 'done' })
  // codex's yield time long (the probe walked /proc with a `tr` per process once: 9.5 s for 144 at load 24); past the
  // yield codex answers the model before the command ended (its output without the probe's last line)
  mock.script({ kind: 'exec_command', cmd: probe, yieldTimeMs: 30_000 }, { kind: 'text', text: 'probed' })
}

const oneShot = (gw: TestGateway, agent: string): Promise<{ run: Run; events: StoredEvent[] }> =>
  succeededRun(gw.url, { agent, prompt: 'run the scripted command', sandbox: 'danger-full-access' }, auth)

async function sessionTurn(gw: TestGateway, agent: string): Promise<StoredEvent[]> {
  const created = await postJson(
    `${gw.url}/v1/sessions`,
    { agent, sandbox: 'danger-full-access', approvalPolicy: 'never' },
    auth,
  )
  const session = (await created.json()) as Session
  expect(created.status, JSON.stringify(session)).toBe(201)
  const turn = await postJson(
    `${gw.url}/v1/sessions/${session.id}/turns`,
    { input: 'run the scripted command' },
    { accept: 'application/x-ndjson', ...auth },
  )
  expect(turn.status).toBe(200)
  const events = (await readNdjson(turn)) as StoredEvent[]
  expect(events.at(-1), JSON.stringify(events)).toMatchObject({ type: 'turn.completed' })
  const archived = await postJson(`${gw.url}/v1/sessions/${session.id}/archive`, {}, auth)
  expect(archived.status).toBe(200)
  return events
}

const keys = {
  codex: codexKey,
  openai: openaiKey,
  anthropic: anthropicKey,
  gemini: geminiKey,
  copilot: copilotKey,
}

const gatewaySettings = (mock: MockLlm, proxy: boolean, k: typeof keys = keys) => ({
  API_TOKENS: apiToken,
  CODEX_API_KEY: k.codex,
  OPENAI_API_KEY: k.openai,
  ...mockAgentSettings(mock, k),
  ALLOW_DANGER_FULL_ACCESS: 'true',
  // one-shot codex runs as `codex exec`; sessions on the app-server
  CODEX_WARM_RUNS: 'false',
  ACP_WARM_RUNS: 'false',
  MODEL_KEY_PROXY: proxy ? 'true' : 'false',
})

const cases = [
  { name: 'codex exec (one-shot run)', agent: 'codex', family: 'codex', session: false },
  { name: 'codex app-server (session turn)', agent: 'codex', family: 'codex', session: true },
  { name: 'codex-acp (one-shot run)', agent: 'acp:codex-acp', family: 'codex', session: false },
  { name: 'claude (one-shot run)', agent: 'claude', family: 'claude', session: false },
  {
    name: 'claude-agent-acp (one-shot run)',
    agent: 'acp:claude-agent-acp',
    family: 'claude',
    session: false,
  },
  { name: 'gemini (one-shot run)', agent: 'gemini', family: 'gemini', session: false },
  { name: 'copilot, custom provider (one-shot run)', agent: 'copilot', family: 'copilot', session: false },
] as const

/**
 * A gateway with the key proxy and a mock model of its own, and the cases given, one after another; with `claude`,
 * then the checks of the claude run's token, the last of which closes the gateway.
 */
function proxyLane(laneCases: readonly (typeof cases)[number][], claude: boolean) {
  describe.sequential('one test after another', () => {
    let mock: MockLlm
    let gw: TestGateway
    beforeAll(async () => {
      mock = await startMockLlm()
      gw = await startGateway(mock, gatewaySettings(mock, true))
    })
    /** The last test closes the gateway itself. */
    let closed = false
    afterAll(async () => {
      if (!closed) await gw?.close()
      await mock?.close()
      if (gw) expect(await waitUntilGone(() => processesUnder(gw.dir))).toEqual([])
    })

    /** What the one-shot claude run's command saw (the token refused below once that run ended). */
    let claudeSeen: string | undefined
    /** That output, or the output of a claude run of its own when the claude case did not run (a test run alone). */
    const claudeOutput = async () => {
      if (claudeSeen === undefined) {
        script(mock)
        await oneShot(gw, 'claude')
        claudeSeen = probeOutput(mock)
      }
      return claudeSeen
    }

    for (const c of laneCases)
      it(`${c.name}: its command reads /proc/*/environ and finds a token, not the key`, async () => {
        script(mock)
        const events = c.session ? await sessionTurn(gw, c.agent) : (await oneShot(gw, c.agent)).events
        const seen = probeOutput(mock)
        if (c.agent === 'claude') claudeSeen = seen
        expect(seen).toMatch(/^PATH=\//m)
        // the agent's own environment holds its key variable: a token the gateway lent it
        const keyVar = agentKeyVar[c.family]
        expect(seen).toMatch(new RegExp(`^${keyVar}=agp-[A-Za-z0-9_-]{43}$`, 'm'))
        for (const key of realKeys) expect(seen).not.toContain(key)
        for (const key of realKeys)
          expect(JSON.stringify(mock.requests.map((r) => r.body))).not.toContain(key)
        // the token is a secret too: redacted in what the gateway stores and sends
        // (copilot's event holds the start of a long output only: the parent's line is cut off)
        if (c.family !== 'copilot') expect(commandOutput(events)).toContain(`${keyVar}=[REDACTED]`)
        // (the agents' own tokens: /proc also shows those of other gateways' agents, which this one does not know)
        const ancestors = seen.slice(seen.search(/== \d+$/m), seen.search(/^== all$/m))
        const own = ancestors.match(/agp-[A-Za-z0-9_-]{43}/g) ?? []
        expect(own.length).toBeGreaterThan(0)
        for (const token of own) expect(commandOutput(events)).not.toContain(token)
        expectRealKeyUpstream(mock, c.family)
      }, 120_000)

    if (claude) {
      it("a one-shot claude run's token is refused once its process ended", async () => {
        // the run of the claude case above (ended: oneShot waits for the run's end)
        const seen = await claudeOutput()
        const token = /^ANTHROPIC_API_KEY=(agp-\S+)$/m.exec(seen)?.[1]
        const base = /^ANTHROPIC_BASE_URL=(http:\/\/127\.0\.0\.1:\d+\/anthropic)$/m.exec(seen)?.[1]
        expect(token).toBeDefined()
        expect(base).toBeDefined()
        const asked = mock.requests.length
        const res = await fetch(`${base}/v1/messages`, {
          method: 'POST',
          headers: { 'x-api-key': token ?? '', 'content-type': 'application/json' },
          body: '{}',
        })
        expect(res.status).toBe(401)
        expect(await res.json()).toMatchObject({ error: { code: 'unauthorized' } })
        expect(mock.requests.length).toBe(asked)
      }, 120_000)

      // last: it closes the gateway of this describe
      it("the key proxy's thread ends with the gateway: nothing listens on its port once the gateway closed", async () => {
        const base = /^ANTHROPIC_BASE_URL=(http:\/\/127\.0\.0\.1:\d+\/anthropic)$/m.exec(
          await claudeOutput(),
        )?.[1]
        expect(base).toBeDefined()
        const ask = () => fetch(`${base}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'agp-x' } })
        expect((await ask()).status).toBe(401)
        closed = true
        await gw.close()
        await expect(ask()).rejects.toThrow()
      }, 120_000)
    }
  })
}

gatewayModules()

// The agents in two lanes at once (each its own gateway and mock model: a command reads what its model request
// carried back), the gateway without the proxy in a third (its keys others: the proxied lanes' commands read every
// process's environment); the tests of a lane one after another.
describe.concurrent('with the key proxy, no agent process holds a real key: codex, gemini', () => {
  proxyLane(
    cases.filter((c) => c.family === 'codex' || c.family === 'gemini'),
    false,
  )
})

describe.concurrent('with the key proxy, no agent process holds a real key: claude, copilot', () => {
  proxyLane(
    cases.filter((c) => c.family === 'claude' || c.family === 'copilot'),
    true,
  )
})

/** Keys other than the proxied gateways' (realKeys): those must be found in no process while this lane runs. */
const unproxiedKeys = {
  codex: fresh('codex-secret-key'),
  openai: fresh('openai-secret-key'),
  anthropic: fresh('anthropic-secret-key'),
  gemini: fresh('gemini-secret-key'),
  copilot: fresh('copilot-secret-key'),
}

describe.concurrent('without the key proxy (MODEL_KEY_PROXY=false), the same command finds the key', () => {
  let mock: MockLlm
  let gw: TestGateway
  beforeAll(async () => {
    mock = await startMockLlm()
    gw = await startGateway(mock, gatewaySettings(mock, false, unproxiedKeys))
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
  })

  it('codex exec: its parent holds CODEX_API_KEY', async () => {
    script(mock)
    await oneShot(gw, 'codex')
    expect(probeOutput(mock)).toContain(`CODEX_API_KEY=${unproxiedKeys.codex}`)
  }, 120_000)
})
