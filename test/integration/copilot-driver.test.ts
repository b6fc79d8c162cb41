import { existsSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CopilotDriver } from '../../src/agents/copilot/driver.js'
import type { ApprovalDecision, SessionHooks } from '../../src/agents/session.js'
import { loadConfig } from '../../src/config/load.js'
import { stageImages } from '../../src/core/staged-images.js'
import type { AgentEvent } from '../../src/protocol/events.js'
import { collect, completionOf, describeDriverContract, waitFor } from '../contract/driver-contract.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayEnv, testApiKey, testModel } from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'
import { copilotPkgCache, tempDir } from '../support/temp.js'

function copilotDriver(mock: MockLlm | null, overrides: Record<string, string | undefined> = {}) {
  const { env, dir } = gatewayEnv(mock, {
    COPILOT_PKG_CACHE_HOME: copilotPkgCache(),
    ...(mock
      ? {
          COPILOT_PROVIDER_BASE_URL: mock.baseUrl,
          COPILOT_PROVIDER_API_KEY: testApiKey,
          COPILOT_MODEL: testModel,
        }
      : {}),
    ...overrides,
  })
  // copilot retries a failed model request 5 times (~17 s): tests want the first failure to count.
  return new CopilotDriver(loadConfig(env, dir), env, { maxModelRetries: 0 })
}

// The contract and the specifics (each its own mock model) at once; the tests of each one after another.
describe.concurrent('copilot: the driver contract', () => {
  describeDriverContract('copilot', {
    create: (mock) => copilotDriver(mock),
    createMissing: (mock) => copilotDriver(mock, { COPILOT_PATH: '/nonexistent/copilot' }),
    writableRequest: { sandbox: 'workspace-write' },
    // the key went as a bearer token; the run reports its session id, one turn of copilot's own
    checkTextRun: (events, mock) => {
      expect(mock.requests[0]?.headers.authorization).toBe(`Bearer ${testApiKey}`)
      expect(events.find((e) => e.type === 'agent.session')).toMatchObject({
        agent: 'copilot',
        agentSessionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      })
      expect(events.filter((e) => e.type === 'turn.started')).toHaveLength(1)
      expect(events.at(-2)?.type).toBe('turn.completed')
    },
  })
})

const hooks: SessionHooks = { requestApproval: async (): Promise<ApprovalDecision> => 'decline' }
const text = (ev: AgentEvent) =>
  ev.type === 'item.completed' && ev.item.type === 'agent_message' ? ev.item.text : null
const messagesOf = (mock: MockLlm, index = -1) =>
  JSON.stringify((mock.requests.at(index)?.body as { messages?: unknown } | undefined)?.messages ?? [])
/** A 1x1 PNG, and the chat-completions content part copilot sends for it (read from its `--attachment`). */
const png = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
)
const pngPart = JSON.stringify({
  type: 'image_url',
  image_url: { url: `data:image/png;base64,${png.toString('base64')}` },
})

describe.concurrent('copilot: its specifics', () => {
  describe.sequential('copilot specifics', () => {
    let mock: MockLlm
    let driver: CopilotDriver
    let workspace: string

    beforeAll(async () => {
      mock = await startMockLlm()
      driver = copilotDriver(mock)
    })
    afterAll(async () => {
      await mock.close()
    })
    beforeEach(() => {
      mock.reset()
      workspace = tempDir('copilot-ws-')
    })

    // its key, session id and turn: checked on the contract's text run (checkTextRun)
    it('maps the bash tool to a command_execution item with its output and exit status', async () => {
      mock.script({ kind: 'exec_command', cmd: 'echo tool-output && exit 3' }, { kind: 'text', text: 'seen' })
      const events = await collect(
        driver.run(
          { prompt: 'run it', cwd: workspace, sandbox: 'workspace-write' },
          new AbortController().signal,
        ),
      )
      const started = events.find((e) => e.type === 'item.started' && e.item.type === 'command_execution')
      const done = events.find((e) => e.type === 'item.completed' && e.item.type === 'command_execution')
      expect(started).toBeDefined()
      expect(done).toMatchObject({
        item: {
          command: 'echo tool-output && exit 3',
          exitCode: 3,
          aggregatedOutput: expect.stringContaining('tool-output'),
        },
      })
      expect(completionOf(events)).toMatchObject({ status: 'succeeded', finalResponse: 'seen' })
    })

    // A run's `images` (POST /v1/runs): copilot reads each `--attachment` and sends it inline, a data URL. It takes
    // an attachment as an image by its name's extension (a PNG named `.dat` failed the run: "--attachment file type
    // not supported"), so the gateway names each private copy by the type its first bytes say (stageImages: here
    // `0-dot.png`).
    it('read-only denies the shell: nothing is written; the run’s image (a PNG named .dat) reaches the model', async () => {
      writeFileSync(path.join(workspace, 'dot.dat'), png)
      const staged = await stageImages(
        [path.join(workspace, 'dot.dat')],
        [workspace],
        tempDir('copilot-data-'),
        'run_x',
      )
      expect(staged.paths.map((p) => path.basename(p))).toEqual(['0-dot.png'])
      mock.script({ kind: 'exec_command', cmd: 'echo nope > blocked.txt' }, { kind: 'text', text: 'tried' })
      const events = await collect(
        driver.run(
          { prompt: 'try to write', cwd: workspace, images: staged.paths },
          new AbortController().signal,
        ),
      )
      await staged.dispose()
      expect(completionOf(events).status).toBe('succeeded')
      expect(existsSync(path.join(workspace, 'blocked.txt'))).toBe(false)
      expect(mock.requests).toHaveLength(2)
      expect(messagesOf(mock, 0)).toContain(pngPart)
    })

    // The first turn has an image (`localImage`: a private copy the core makes and removes once the turn ended,
    // core/turn-images.ts): copilot sends it inline, and keeps it in its session record, so the later turns' history
    // holds it though the copy is gone.
    it('a two-turn session resumes copilot’s own session and carries the history, its image too', async () => {
      const session = await driver.openSession({ cwd: workspace }, hooks)
      const id = session.agentSessionId
      const copies = tempDir('copilot-turn-images-')
      writeFileSync(path.join(copies, '0-kiwi.png'), png)
      mock.script({ kind: 'text', text: 'noted: kiwi' })
      const first = await collect(
        session.turn(
          [
            { type: 'text', text: 'remember the word kiwi' },
            { type: 'localImage', path: path.join(copies, '0-kiwi.png') },
          ],
          new AbortController().signal,
        ),
      )
      rmSync(copies, { recursive: true })
      expect(messagesOf(mock)).toContain(pngPart)
      expect(first[0]).toMatchObject({ type: 'turn.started' })
      expect(first.at(-1)).toMatchObject({ type: 'turn.completed', status: 'completed' })
      expect(first.map(text)).toContain('noted: kiwi')
      expect(first.some((e) => e.type.startsWith('run.'))).toBe(false)

      mock.script({ kind: 'text', text: 'the word was kiwi' })
      const second = await collect(
        session.turn([{ type: 'text', text: 'which word?' }], new AbortController().signal),
      )
      expect(second.at(-1)).toMatchObject({ type: 'turn.completed', status: 'completed' })
      expect(second.map(text)).toContain('the word was kiwi')
      expect(session.agentSessionId).toBe(id)
      const history = messagesOf(mock)
      expect(history).toContain('remember the word kiwi')
      expect(history).toContain(pngPart)
      expect(history).toContain('noted: kiwi')
      expect(history).toContain('which word?')
      expect(await session.read(true)).toMatchObject({
        sessionId: id,
        turns: [{ status: 'completed' }, { status: 'completed' }],
      })

      // A new session object resumes it from copilot's own record (as after a gateway restart).
      const resumed = await driver.resumeSession(id, { cwd: workspace }, hooks)
      mock.script({ kind: 'text', text: 'still kiwi' })
      const third = await collect(
        resumed.turn([{ type: 'text', text: 'again?' }], new AbortController().signal),
      )
      expect(third.at(-1)).toMatchObject({ type: 'turn.completed', status: 'completed' })
      expect(messagesOf(mock)).toContain('the word was kiwi')
      expect(messagesOf(mock)).toContain(pngPart)
    })

    it('interrupting a turn ends the process group and reports interrupted', async () => {
      const session = await driver.openSession({ cwd: workspace }, hooks)
      mock.script({ kind: 'text', text: 'never seen', delayMs: 20_000 })
      const running = collect(
        session.turn([{ type: 'text', text: 'wait forever' }], new AbortController().signal),
      )
      await waitFor(() => processesUnder(workspace).length > 0 && mock.requests.length > 0)
      await session.interrupt()
      const events = await running
      expect(events.at(-1)).toMatchObject({ type: 'turn.completed', status: 'interrupted' })
      expect(await waitUntilGone(() => processesUnder(workspace))).toEqual([])
    })

    it('fork and steer are refused; the capabilities say so', async () => {
      const session = await driver.openSession({ cwd: workspace }, hooks)
      await expect(session.fork()).rejects.toMatchObject({ code: 'invalid_request' })
      await expect(session.steer([{ type: 'text', text: 'x' }])).rejects.toMatchObject({ code: 'conflict' })
      expect(driver.capabilities).toMatchObject({
        sessions: true,
        fork: false,
        approvals: false,
        interrupt: true,
      })
    })

    it('probe says what to do when no credentials are configured', async () => {
      const status = await copilotDriver(null).probe()
      expect(status.installed).toBe(true)
      expect(status.version).toMatch(/^\d+\.\d+\.\d+/)
      expect(status.authenticated).toBe(false)
      expect(status.hint).toMatch(/COPILOT_PROVIDER_BASE_URL/)
    })
  })
})
