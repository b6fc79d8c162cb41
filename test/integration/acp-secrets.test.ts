import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Session } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import {
  gatewayModules,
  postJson,
  startGateway,
  succeededRun,
  type TestGateway,
  testApiKey,
} from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'

/**
 * secrets.test.ts for the ACP agents: no secret of the gateway reaches a command an ACP agent runs, on any
 * path a command of theirs takes: a one-shot run on a process of its own (ACP_WARM_RUNS=false) or on a warm
 * process, a session turn on a process of its own (ACP_SESSIONS_PER_PROCESS=1) or on a shared one.
 * The codex inside codex-acp sourced its shell snapshot, taken from codex-acp's own environment (the key
 * included), before each command: `shell_environment_policy.exclude` was undone (features.shell_snapshot).
 */
const apiToken = 'gw-api-token-4b8d1e6f2a'
const secretEnv = {
  API_TOKENS: apiToken,
  OPENAI_API_KEY: 'openai-secret-key-8e2f4a6c1d',
  ANTHROPIC_API_KEY: 'anthropic-secret-key-6a1c9e3b7d',
  FOO_SECRET: 'foo-secret-value-2c5e8a1f4b',
  BAR_TOKEN: 'bar-token-value-7d3b6f9a2e',
}
/** CODEX_API_KEY is gatewayEnv's testApiKey. */
const secretValues = [testApiKey, ...Object.values(secretEnv)]
const secretNames = ['CODEX_API_KEY', ...Object.keys(secretEnv)]
const auth = { authorization: `Bearer ${apiToken}` }

/**
 * Two commands: by the second one an agent that keeps a snapshot of its shell (codex) has taken it. The
 * second prints the environment and whatever codex or Claude Code left in their homes' shell snapshots.
 */
const printEnv =
  'sleep 0.5; env; cat "$CODEX_HOME"/shell_snapshots/* "$HOME"/.claude/shell-snapshots/* 2>/dev/null; echo printed-env'
const script = (mock: MockLlm) => {
  mock.reset()
  mock.setDefault({ kind: 'text', text: 'done' })
  mock.script(
    { kind: 'exec_command', cmd: 'echo first-command', yieldTimeMs: 10_000 },
    { kind: 'exec_command', cmd: printEnv, yieldTimeMs: 10_000 },
    { kind: 'text', text: 'ran them' },
  )
}

/**
 * A custom agent (ACP_AGENTS) that runs `env` itself and asks the gateway to run it (`terminal/create`): the
 * gateway offers no terminal, so every command of an ACP agent is the agent's own.
 */
const shellAgent = `shell=${process.execPath} ${fileURLToPath(new URL('../fixtures/acp-shell-agent.mjs', import.meta.url))}`

/** Claude Code asks before `env` unless it may do anything; codex-acp runs it in its sandbox. */
const agents = [
  { agent: 'acp:codex-acp', sandbox: 'workspace-write', model: true },
  { agent: 'acp:claude-agent-acp', sandbox: 'danger-full-access', model: true },
  { agent: 'acp:shell', sandbox: 'workspace-write', model: false },
] as const

const commandOutput = (events: StoredEvent[]) =>
  events
    .map((e) =>
      e.type === 'item.completed' && e.item.type === 'command_execution' ? e.item.aggregatedOutput : '',
    )
    .join('\n')

/**
 * The command ran (its output came back through the gateway's events) and saw no secret: neither a value
 * nor a name, not even redacted (the agent never gave it to the command); nor did the model get one back.
 */
function expectNoSecret(mock: MockLlm, events: StoredEvent[], model: boolean) {
  const output = commandOutput(events)
  const bodies = JSON.stringify(mock.requests.map((r) => r.body))
  // `env` ran and its whole output crossed the ACP wire into the gateway's events: what the checks below read.
  // (The command waits before it prints and its yield time is long: codex inside codex-acp subscribes to a
  // command's output after it started, and codex-acp sends no end for a command that outlived its call;
  // acp-command-output.test.ts. Its own `echo printed-env` is no proof: the item holds the command too.)
  expect(output, JSON.stringify(events)).toMatch(/(?<!echo )printed-env/)
  expect(output, JSON.stringify(events)).toMatch(/^PATH=\//m)
  for (const value of secretValues) expect(output).not.toContain(value)
  for (const name of secretNames) expect(output).not.toMatch(new RegExp(`\\b${name}=`))
  expect(output).not.toContain('[REDACTED]')
  for (const value of secretValues) expect(JSON.stringify(events)).not.toContain(value)
  if (!model) {
    // the agent's request for a client terminal was refused: the gateway declared none
    expect(output).toContain('client terminal capability: false')
    expect(output).toMatch(/terminal\/create refused: /)
    return
  }
  // the command's output goes back to the model unredacted: the key must not be in what the provider got
  expect(bodies).toContain('printed-env')
  for (const value of secretValues) expect(bodies).not.toContain(value)
}

/**
 * A turn's events as they stream; Claude Code asks before each command in a session (one-shot runs answer by
 * their sandbox), and each ask is accepted when it arrives.
 */
async function turnEvents(gw: TestGateway, res: Response): Promise<StoredEvent[]> {
  const events: StoredEvent[] = []
  let pending = ''
  for await (const chunk of res.body ?? []) {
    pending += Buffer.from(chunk).toString('utf8')
    const lines = pending.split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines.filter(Boolean)) {
      const event = JSON.parse(line) as StoredEvent
      events.push(event)
      if (event.type === 'approval.requested') {
        const answered = await postJson(
          `${gw.url}/v1/approvals/${event.approvalId}`,
          { decision: 'accept' },
          auth,
        )
        expect(answered.status).toBe(200)
      }
    }
  }
  return events
}

const gateways = [
  { paths: 'a process of its own', settings: { ACP_WARM_RUNS: 'false', ACP_SESSIONS_PER_PROCESS: '1' } },
  { paths: 'warm and shared processes', settings: {} },
]
/** claude-agent-acp (Claude Code starts for each of its processes: the slowest) apart from the other two. */
const agentGroups = [
  agents.filter((a) => a.agent === 'acp:claude-agent-acp'),
  agents.filter((a) => a.agent !== 'acp:claude-agent-acp'),
]
const lanes = gateways.flatMap((g) =>
  agentGroups.map((group) => ({ ...g, group, names: group.map((a) => a.agent).join(', ') })),
)

gatewayModules()

// Each path with each group of agents on a gateway of its own (and its own mock model), all at once; on each, one test
// after another (they share its mock's script).
describe.concurrent.each(lanes)(
  'ACP agents on $paths ($names): secrets never reach their commands',
  ({ settings, group }) => {
    let mock: MockLlm
    let gw: TestGateway
    beforeAll(async () => {
      mock = await startMockLlm()
      gw = await startGateway(mock, {
        ...secretEnv,
        ...settings,
        ACP_AGENTS: shellAgent,
        ALLOW_DANGER_FULL_ACCESS: 'true',
        ANTHROPIC_BASE_URL: mock.url,
        CLAUDE_CODE_MAX_RETRIES: '0',
      })
    })
    afterAll(async () => {
      await gw?.close()
      await mock?.close()
      if (gw) expect(await waitUntilGone(() => processesUnder(gw.dir))).toEqual([])
    })

    describe.sequential('one test after another', () => {
      for (const { agent, sandbox, model } of group) {
        it(`${agent}: a one-shot run's command`, async () => {
          script(mock)
          const { events } = await succeededRun(
            gw.url,
            { agent, prompt: 'run the scripted commands', sandbox },
            auth,
          )
          expectNoSecret(mock, events, model)
        }, 120_000)

        it(`${agent}: a session turn's command`, async () => {
          script(mock)
          const created = await postJson(
            `${gw.url}/v1/sessions`,
            { agent, sandbox, approvalPolicy: 'never' },
            auth,
          )
          const session = (await created.json()) as Session
          expect(created.status, JSON.stringify(session)).toBe(201)
          const turn = await postJson(
            `${gw.url}/v1/sessions/${session.id}/turns`,
            { input: 'run the scripted commands' },
            { accept: 'application/x-ndjson', ...auth },
          )
          expect(turn.status).toBe(200)
          const events = await turnEvents(gw, turn)
          expect(events.at(-1), JSON.stringify(events)).toMatchObject({ type: 'turn.completed' })
          expectNoSecret(mock, events, model)
          const archived = await postJson(`${gw.url}/v1/sessions/${session.id}/archive`, {}, auth)
          expect(archived.status).toBe(200)
        }, 120_000)
      }
    })
  },
)
