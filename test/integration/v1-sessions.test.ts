import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { acpPreset } from '../../src/agents/acp/agent-spec.js'
import type { AcpDriver } from '../../src/agents/acp/driver.js'
import type { LiveSessions } from '../../src/core/live-sessions.js'
import { SessionManager } from '../../src/core/session-manager.js'
import { startServer } from '../../src/http/server.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Approval, Session, Turn } from '../../src/protocol/sessions.js'
import { agentLineChars, agentLineWrapperChars } from '../../src/util/agent-line.js'
import { held, type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { codexRequestsOf } from '../support/codex-requests.js'
import {
  finishedTurnAt,
  gatewayModules,
  pendingApprovalAt,
  postJson,
  requestInput,
  sessionEventsUntilTurnEnd,
  startGateway,
  type TestGateway,
  testApiKey,
  testModel,
} from '../support/gateway.js'
import { onePixelPng } from '../support/png.js'
import { spawnedFrom } from '../support/processes.js'
import { readSseUntil } from '../support/sse-client.js'
import { tempDir } from '../support/temp.js'
import { tmpWrites } from '../support/tmp-writes.js'

gatewayModules()

/** Sessions on the real codex app-server through the HTTP API, with the mock model. */
describe('/v1/sessions on codex app-server', () => {
  let mock: MockLlm
  let gw: TestGateway
  // agents get a TMPDIR of their own (not under a session's cwd): the workspace-write cases try to write it
  const tmpdir = tempDir('agent-tmp-')
  // the largest image a turn or run may give here (MAX_IMAGE_BYTES; 5 MiB by default): the image cases below
  // send one of exactly this size (taken) and one a byte larger (refused)
  const maxImageBytes = 64 * 1024
  /** `png` with zeros after its end, `size` bytes in all: still a PNG by its first bytes, and for codex. */
  const paddedPng = (png: Buffer, size: number) => Buffer.concat([png, Buffer.alloc(size - png.length)])
  const tooLarge = (item: string, image: string) =>
    `${item}: image "${image}" is ${maxImageBytes + 1} bytes, more than the ${maxImageBytes} (64 KiB) an image may have (MAX_IMAGE_BYTES)`

  beforeAll(async () => {
    mock = await startMockLlm()
    gw = await startGateway(mock, {
      APPROVAL_TIMEOUT_SECONDS: '2',
      MAX_IMAGE_BYTES: String(maxImageBytes),
      // a turn of more images than codex echoes on one line (8 MiB): the refusal below
      BODY_LIMIT_BYTES: String(16 * 1024 * 1024),
      TMPDIR: tmpdir,
      // copilot's sessions are created (no copilot process runs before a turn): the image refusals below
      COPILOT_PROVIDER_BASE_URL: mock.baseUrl,
      COPILOT_PROVIDER_API_KEY: testApiKey,
      COPILOT_MODEL: testModel,
      // never started: the refusal of images by an ACP agent not known to take them
      ACP_AGENTS: `plain=${acpPreset('codex-acp').command}`,
    })
  })
  afterAll(async () => {
    await gw.close()
    await mock.close()
  })
  afterEach(() => mock.reset())

  const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T
  const createSession = (body: Record<string, unknown> = {}) =>
    json<Session>(postJson(`${gw.url}/v1/sessions`, body))
  const turn = (id: string, input: string, query = '?wait=true', extra: Record<string, unknown> = {}) =>
    postJson(`${gw.url}/v1/sessions/${id}/turns${query}`, { input, ...extra })
  const turnRecord = async (sessionId: string, turnId: string) =>
    (await json<Session & { turns: Turn[] }>(fetch(`${gw.url}/v1/sessions/${sessionId}`))).turns.find(
      (t) => t.id === turnId,
    )!
  const requestText = (i: number) =>
    JSON.stringify((mock.requests[i]?.body as { input?: unknown })?.input ?? '')

  it('three turns in one session: the model receives the whole history on the third', async () => {
    const session = await createSession()
    expect(session).toMatchObject({ agent: 'codex', status: 'idle', agentSessionId: expect.any(String) })
    mock.script(
      { kind: 'text', text: 'first answer alpha' },
      { kind: 'text', text: 'second answer beta' },
      { kind: 'text', text: 'third answer gamma' },
    )
    const answered: Turn[] = []
    for (const prompt of ['first question one', 'second question two', 'third question three']) {
      const t = await json<Turn>(turn(session.id, prompt))
      expect(t.status).toBe('completed')
      answered.push(t)
      // answered once the end and the state it leads to are stored (its announcement may still be committing)
      expect((await json<Session>(fetch(`${gw.url}/v1/sessions/${session.id}`))).status).toBe('idle')
    }
    const third = requestText(2)
    for (const part of [
      'first question one',
      'first answer alpha',
      'second question two',
      'second answer beta',
    ])
      expect(third).toContain(part)
    const full = await json<Session & { turns: Turn[] }>(fetch(`${gw.url}/v1/sessions/${session.id}`))
    expect(full.turns.map((t) => [t.status, t.finalResponse])).toEqual([
      ['completed', 'first answer alpha'],
      ['completed', 'second answer beta'],
      ['completed', 'third answer gamma'],
    ])
    expect(full).toMatchObject({ status: 'idle', turnCount: 3 })
    // ?wait=true answers with the turn as stored
    expect(full.turns).toEqual(answered)
    // the agent starts before the turn is marked running, yet the session's events keep their order
    // (read until the third turn's idle: ?wait=true may answer while that announcement is still committing)
    const idles = (events: StoredEvent[]) =>
      events.filter((e) => e.type === 'session.status' && e.status === 'idle').length
    const stored = await sessionEvents(gw.url, session.id, (events) => idles(events) === 4)
    const lifecycle = stored
      .map((ev) => (ev.type === 'session.status' ? `status:${ev.status}` : ev.type))
      .filter((t) => t.startsWith('status:') || t.startsWith('turn.'))
    const oneTurn = ['status:running', 'turn.started', 'turn.completed', 'status:idle']
    expect(lifecycle).toEqual(['status:idle', ...oneTurn, ...oneTurn, ...oneTurn]) // idle: created
    // of what codex sends in a turn, only the user's own message is kept raw (its notifications the gateway
    // reads nothing from, e.g. thread/readState/changed, are opted out of: opted-out-notifications.ts)
    const raw = stored.flatMap((ev) =>
      ev.type === 'agent.raw' ? [(ev.payload as { method: string }).method] : [],
    )
    expect(raw).toEqual(Array(3).fill(['item/started', 'item/completed']).flat())
  })

  it('a localImage item: codex gets a private copy of the PNG (its data URL in the model request), removed after the turn; the path as given is what is stored', async () => {
    // a 1x1 PNG, of exactly MAX_IMAGE_BYTES (the largest taken)
    const png = paddedPng(
      Buffer.from(
        'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
        'base64',
      ),
      maxImageBytes,
    )
    mkdirSync(path.join(gw.workspace, 'shots'), { recursive: true })
    writeFileSync(path.join(gw.workspace, 'shots', 'screen.png'), png)
    const session = await createSession()
    mock.script({ kind: 'text', text: 'a single pixel' })
    const input = [
      { type: 'text', text: 'what is on this screenshot' },
      { type: 'localImage', path: 'shots/screen.png' },
    ]
    const res = await postJson(`${gw.url}/v1/sessions/${session.id}/turns?wait=true`, { input })
    const t = await json<Turn>(res)
    expect(res.status).toBe(200)
    expect(t).toMatchObject({ status: 'completed', finalResponse: 'a single pixel', input })
    expect(requestText(0)).toContain(`data:image/png;base64,${png.toString('base64')}`)
    // the copy codex read is gone once the turn ended; the events name the image as the client did
    const copies = path.join(gw.env.DATA_DIR!, 'run-images')
    expect(existsSync(copies) ? readdirSync(copies) : []).toEqual([])
    const events = JSON.stringify(await sessionEventsUntilTurnEnd(gw.url, session.id, t.id))
    expect(events).toContain('shots/screen.png')
    expect(events).not.toContain('run-images')
    // refused before anything runs (400): outside the workspace, a symlink out, a steer, an agent without images
    const outside = tempDir('outside-')
    writeFileSync(path.join(outside, 'secret.png'), png)
    symlinkSync(path.join(outside, 'secret.png'), path.join(gw.workspace, 'shots', 'link.png'))
    const refused = async (id: string, image: string, extra: Record<string, unknown> = {}) => {
      const body = { input: [{ type: 'localImage', path: image }], ...extra }
      const answer = await postJson(`${gw.url}/v1/sessions/${id}/turns`, body)
      return {
        status: answer.status,
        message: (await json<{ error: { message: string } }>(answer)).error.message,
      }
    }
    for (const image of [path.join(outside, 'secret.png'), 'shots/link.png', '../../../../etc/hostname'])
      expect(await refused(session.id, image), image).toEqual({
        status: 400,
        message: expect.stringMatching(/^image ".*" is outside the workspace roots/),
      })
    expect(await refused(session.id, 'shots/screen.png', { onBusy: 'steer' })).toEqual({
      status: 400,
      message: expect.stringContaining('image input items cannot go with onBusy "steer"'),
    })
    // An image that is none by its first bytes (a text file named .png, a data: URL of text), or of more than
    // MAX_IMAGE_BYTES (a byte more than the one taken above):
    // a 400 naming its item, for each agent with images, a run's too. Before, each was taken (202): codex sent the
    // model "image content omitted because it could not be processed" and the turn succeeded, copilot dropped the
    // attachment, an ACP turn failed as its prompt was built (the acp:codex-acp case below), and none had a size cap.
    writeFileSync(path.join(gw.workspace, 'shots', 'notes.png'), 'plain text, no picture\n')
    writeFileSync(path.join(gw.workspace, 'shots', 'huge.png'), paddedPng(png, maxImageBytes + 1))
    const textUrl = `data:image/png;base64,${Buffer.from('plain text, no picture').toString('base64')}`
    const notAnImage = (item: string, image: string) =>
      `${item}: image "${image}" is not a PNG, JPEG, GIF or WebP image (its first bytes are none of those): no agent takes it`
    const copilotSession = await createSession({ agent: 'copilot' })
    const text = { type: 'text', text: 'look' }
    for (const [id, input, message] of [
      [
        session.id,
        [text, { type: 'localImage', path: 'shots/notes.png' }],
        notAnImage('input[1]', 'shots/notes.png'),
      ],
      [session.id, [{ type: 'image', url: textUrl }, text], notAnImage('input[0]', textUrl)],
      [
        session.id,
        [text, { type: 'localImage', path: 'shots/huge.png' }],
        tooLarge('input[1]', 'shots/huge.png'),
      ],
      [
        copilotSession.id,
        [
          text,
          { type: 'localImage', path: 'shots/screen.png' },
          { type: 'localImage', path: 'shots/notes.png' },
        ],
        notAnImage('input[2]', 'shots/notes.png'),
      ],
    ] as const) {
      const answer = await postJson(`${gw.url}/v1/sessions/${id}/turns`, { input })
      expect(answer.status, message).toBe(400)
      expect(await json<{ error: { code: string; message: string } }>(answer)).toMatchObject({
        error: { code: 'invalid_request', message },
      })
    }
    for (const [agent, images, message] of [
      ['codex', ['shots/screen.png', 'shots/notes.png'], notAnImage('images[1]', 'shots/notes.png')],
      ['copilot', ['shots/huge.png'], tooLarge('images[0]', 'shots/huge.png')],
    ] as const) {
      const answer = await postJson(`${gw.url}/v1/runs`, { agent, prompt: 'look', images })
      expect(answer.status, message).toBe(400)
      expect((await json<{ error: { message: string } }>(answer)).error.message).toBe(message)
    }
    // An image within MAX_IMAGE_BYTES with more text than codex's echo of the turn (its `userMessage` item, text and
    // data: URLs inline, on one line the gateway reads: 8 MiB) can carry: a 400. Before, the turn ran and that line
    // was cut and lost: the user message's item events silently missing (core/echoed-input.ts). Such text is past
    // codex's own limit (1,048,576 characters), which is what it is refused for now (core/input-size.ts); images
    // alone that do not fit the line (two of 5 MiB, the default cap) are refused naming them: echoed-input.test.ts.
    const long = { type: 'text', text: 'x'.repeat(8 * 1024 * 1024 - 100 * 1024) }
    const image = { type: 'image', url: `data:image/png;base64,${png.toString('base64')}` }
    const echoed = await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, { input: [long, image] })
    expect(echoed.status).toBe(400)
    expect(await json<{ error: unknown }>(echoed)).toMatchObject({
      error: {
        code: 'invalid_request',
        message: expect.stringMatching(/^input: agent codex takes at most 1048576 characters of text a turn/),
        details: { agent: 'codex', chars: long.text.length, limit: 1_048_576 },
      },
    })
    expect(
      (await json<Session & { turns: Turn[] }>(fetch(`${gw.url}/v1/sessions/${copilotSession.id}`))).turns,
    ).toEqual([])
    // copilot takes images (copilot-driver.test.ts: its `--attachment`, sent to the model inline) with a prompt only:
    // `copilot -p` runs no turn without one ("No prompt provided"). Before, a turn of images alone was taken (202)
    // and failed once copilot had started.
    const copilot = await createSession({ agent: 'copilot' })
    for (const input of [
      [{ type: 'localImage', path: 'shots/screen.png' }],
      [
        { type: 'text', text: ' \n ' },
        { type: 'localImage', path: 'shots/screen.png' },
      ],
    ]) {
      const answer = await postJson(`${gw.url}/v1/sessions/${copilot.id}/turns`, { input })
      expect(answer.status).toBe(400)
      expect(await json<{ error: { message: string } }>(answer)).toMatchObject({
        error: {
          code: 'invalid_request',
          message:
            "agent copilot takes images with a prompt only: add a text item to the turn's input (copilot runs no turn without one)",
          details: { agent: 'copilot' },
        },
      })
    }
    expect(
      (await json<Session & { turns: Turn[] }>(fetch(`${gw.url}/v1/sessions/${copilot.id}`))).turns,
    ).toEqual([])
    // (an agent without images refuses them: the acp:codex-acp case below)
    // nothing of them reached codex, and no turn was stored
    expect(mock.requests).toHaveLength(1)
    expect(
      (await json<Session & { turns: Turn[] }>(fetch(`${gw.url}/v1/sessions/${session.id}`))).turns,
    ).toHaveLength(1)
  })

  it("outputSchema on a turn reaches codex's turn/start for that turn alone; refused (400) as a run's, for steer and for an agent without it, before the model is asked", async () => {
    const schema = {
      type: 'object',
      properties: { greeting: { $ref: '#/$defs/word' } },
      required: ['greeting'],
      additionalProperties: false,
      $defs: { word: { type: 'string' } },
    }
    /** The response format codex asked the model for in its last request. */
    const format = () =>
      (mock.requests.at(-1)?.body as { text?: { format?: unknown } } | undefined)?.text?.format
    const session = await createSession()
    mock.script({ kind: 'text', text: '{"greeting":"hi"}' })
    const structured = await turn(session.id, 'greet me as JSON', '?wait=true', { outputSchema: schema })
    expect(structured.status).toBe(200)
    expect(await json<Turn>(structured)).toMatchObject({
      status: 'completed',
      finalResponse: '{"greeting":"hi"}',
    })
    expect(format()).toMatchObject({ type: 'json_schema', schema })
    // the next turn without one answers freely: the schema was that turn's alone
    mock.script({ kind: 'text', text: 'plain words' })
    const plain = await turn(session.id, 'and now in words')
    expect((await json<Turn>(plain)).finalResponse).toBe('plain words')
    expect(mock.requests).toHaveLength(2)
    expect(format()).not.toMatchObject({ type: 'json_schema' })
    type Refusal = { error: { code: string; message: string; details?: unknown } }
    const refusal = async (res: Response) => {
      expect(res.status).toBe(400)
      return json<Refusal>(res)
    }
    // what a run refuses (too large, a $ref outside itself, no JSON Schema) a turn refuses alike, in the same words
    const large = { type: 'string', description: 'x'.repeat(128 * 1024) }
    const invalid = [{ type: 'nonsense' }, { type: 'object', properties: [] }]
    for (const bad of [large, { $ref: 'file:///etc/passwd' }, ...invalid]) {
      const run = await refusal(
        await postJson(`${gw.url}/v1/runs`, { agent: 'codex', prompt: 'x', outputSchema: bad }),
      )
      expect(await refusal(await turn(session.id, 'x', '', { outputSchema: bad }))).toEqual(run)
    }
    expect(await refusal(await turn(session.id, 'x', '', { outputSchema: { type: 'nonsense' } }))).toEqual({
      error: {
        code: 'invalid_request',
        message: expect.stringMatching(
          /^outputSchema is not a valid JSON Schema: outputSchema\/type must be/,
        ),
      },
    })
    expect(await refusal(await turn(session.id, 'x', '', { outputSchema: 'x' }))).toMatchObject({
      error: { code: 'invalid_request', message: expect.stringContaining('outputSchema') },
    })
    // steered input joins the running turn, which keeps its own
    expect(
      await refusal(await turn(session.id, 'x', '', { outputSchema: schema, onBusy: 'steer' })),
    ).toMatchObject({
      error: {
        code: 'invalid_request',
        message: expect.stringMatching(/^outputSchema cannot go with onBusy "steer"/),
      },
    })
    // GET /v1/agents says which agents' turns take one (turnOutputSchema), apart from which runs do (outputSchema):
    // codex-exec takes one for a run and has no sessions
    const listed = await json<{ agents: { id: string; capabilities: Record<string, boolean> }[] }>(
      fetch(`${gw.url}/v1/agents`),
    )
    const capability = (id: string) => {
      const { outputSchema, turnOutputSchema } = listed.agents.find((a) => a.id === id)?.capabilities ?? {}
      return { outputSchema, turnOutputSchema }
    }
    expect(capability('codex')).toEqual({ outputSchema: true, turnOutputSchema: true })
    expect(capability('codex-exec')).toEqual({ outputSchema: true, turnOutputSchema: false })
    expect(capability('copilot')).toEqual({ outputSchema: false, turnOutputSchema: false })
    // an agent whose turns take no schema (copilot: no process runs before a turn) is refused, not ignored
    const copilot = await createSession({ agent: 'copilot' })
    expect(await refusal(await turn(copilot.id, 'x', '', { outputSchema: schema }))).toEqual({
      error: {
        code: 'invalid_request',
        message:
          'agent copilot takes no outputSchema for a session turn (capabilities.turnOutputSchema is false in GET /v1/agents), so it would not be honoured. Leave outputSchema out',
        details: { agent: 'copilot', capability: 'turnOutputSchema' },
      },
    })
    // none of them reached a model or was stored as a turn
    expect(mock.requests).toHaveLength(2)
    expect(
      (await json<Session & { turns: Turn[] }>(fetch(`${gw.url}/v1/sessions/${session.id}`))).turns,
    ).toHaveLength(2)
    expect(
      (await json<Session & { turns: Turn[] }>(fetch(`${gw.url}/v1/sessions/${copilot.id}`))).turns,
    ).toEqual([])
  })

  it('text alone past what its agent takes (BODY_LIMIT_BYTES raised): a 400 when sent, on a turn and a run, before any agent has it', async () => {
    // codex's own limit is 1,048,576 characters of text a turn: before, a turn or run of more was taken (202) and
    // failed once codex had it (`turn/start failed (-32602): Input exceeds the maximum length of 1048576 characters.`)
    const session = await createSession()
    const over = 'y'.repeat(1_048_577)
    const codexMessage = (what: string) =>
      `${what}: agent codex takes at most 1048576 characters of text a turn (its own limit) and this ${what} has 1048577: send less a turn`
    // a text-only turn, and one in two items (codex counts them together); characters, not UTF-16 units
    for (const input of [
      over,
      [
        { type: 'text', text: 'y'.repeat(600_000) },
        { type: 'text', text: 'z'.repeat(448_577) },
      ],
      `${'\u{1F600}'.repeat(1_048_576)}y`,
    ]) {
      const answer = await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, { input })
      expect(answer.status).toBe(400)
      expect(await json<{ error: unknown }>(answer)).toEqual({
        error: {
          code: 'invalid_request',
          message: codexMessage('input'),
          details: { agent: 'codex', chars: 1_048_577, limit: 1_048_576 },
        },
      })
    }
    const run = await postJson(`${gw.url}/v1/runs`, { agent: 'codex', prompt: over })
    expect(run.status).toBe(400)
    expect((await json<{ error: { message: string } }>(run)).error.message).toBe(codexMessage('prompt'))
    // an agent without a limit of its own (copilot): past the line the gateway reads of an agent (8 MiB), on which
    // agents write the input back (Gemini CLI's user message, a reopened ACP session's history): cut and lost before
    const copilot = await createSession({ agent: 'copilot' })
    const long = 'x'.repeat(8 * 1024 * 1024)
    const lineMessage = (what: string) =>
      `${what}: takes ${JSON.stringify({ type: 'text', text: long }).length} chars as JSON, and agents write a turn's input back on one line of their output, which the gateway reads up to ${agentLineChars - agentLineWrapperChars} chars (${agentLineChars} less the message around it): send less a turn`
    const turn = await postJson(`${gw.url}/v1/sessions/${copilot.id}/turns`, { input: long })
    expect(turn.status).toBe(400)
    expect((await json<{ error: { message: string } }>(turn)).error.message).toBe(lineMessage('input'))
    const copilotRun = await postJson(`${gw.url}/v1/runs`, { agent: 'copilot', prompt: long })
    expect(copilotRun.status).toBe(400)
    expect((await json<{ error: { message: string } }>(copilotRun)).error.message).toBe(lineMessage('prompt'))
    // nothing reached an agent, no turn or run was stored
    expect(mock.requests).toHaveLength(0)
    for (const id of [session.id, copilot.id])
      expect((await json<{ turns: Turn[] }>(fetch(`${gw.url}/v1/sessions/${id}`))).turns).toEqual([])
  })

  it('approval round trip: approval.requested, accepted over HTTP, the command writes the file', async () => {
    const session = await createSession({ approvalPolicy: 'untrusted', sandbox: 'workspace-write' })
    mock.script({ kind: 'exec_command', cmd: 'echo yes > approved.txt' }, { kind: 'text', text: 'wrote it' })
    const stream = fetch(`${gw.url}/v1/sessions/${session.id}/events`, {
      headers: { accept: 'text/event-stream' },
    })
    const started = await json<Turn>(turn(session.id, 'please write the file', ''))
    const frames = await readSseUntil(await stream, (f) => f.event === 'approval.requested')
    const requested = JSON.parse(frames.at(-1)!.data) as StoredEvent & {
      approvalId: string
      command?: string
    }
    expect(requested).toMatchObject({ kind: 'command', command: expect.stringContaining('approved.txt') })
    const waiting = await json<Session>(fetch(`${gw.url}/v1/sessions/${session.id}`))
    expect(waiting.status).toBe('waiting_for_approval')
    const pending = await json<{ approvals: Approval[] }>(fetch(`${gw.url}/v1/approvals?state=pending`))
    expect(pending.approvals.map((a) => a.id)).toContain(requested.approvalId)
    const offered = (requested as unknown as { options: string[] }).options
    expect(offered).toEqual(expect.arrayContaining(['accept', 'decline']))
    const invalid = await postJson(`${gw.url}/v1/approvals/${requested.approvalId}`, { decision: 'maybe' })
    expect(invalid.status).toBe(400)
    const answered = await postJson(`${gw.url}/v1/approvals/${requested.approvalId}`, { decision: 'accept' })
    expect(answered.status).toBe(200)
    expect(await answered.json()).toMatchObject({ state: 'resolved', decision: 'accept', by: 'client' })
    const again = await postJson(`${gw.url}/v1/approvals/${requested.approvalId}`, { decision: 'decline' })
    expect(again.status).toBe(409)
    const done = await json<Turn>(
      fetch(`${gw.url}/v1/sessions/${session.id}`).then(async (r) => {
        const s = (await r.json()) as { turns: Turn[] }
        return new Response(JSON.stringify(s.turns.find((t) => t.id === started.id)))
      }),
    )
    expect(['running', 'completed']).toContain(done.status)
    const finished = await finishedTurnAt(gw.url, session.id, started.id)
    expect(finished.status).toBe('completed')
    expect(existsSync(path.join(session.cwd, 'approved.txt'))).toBe(true)
  })

  it('decline: no file, the command item is declined, the turn completes', async () => {
    const session = await createSession({ approvalPolicy: 'untrusted', sandbox: 'workspace-write' })
    mock.script(
      { kind: 'exec_command', cmd: 'echo no > declined.txt' },
      { kind: 'text', text: 'ok, not writing' },
    )
    const started = await json<Turn>(turn(session.id, 'try to write', ''))
    const approval = await pendingApprovalAt(gw.url, session.id)
    const res = await postJson(`${gw.url}/v1/approvals/${approval.id}`, { decision: 'decline' })
    expect(res.status).toBe(200)
    const finished = await finishedTurnAt(gw.url, session.id, started.id)
    expect(finished.status).toBe('completed')
    expect(existsSync(path.join(session.cwd, 'declined.txt'))).toBe(false)
    const events = await sessionEvents(gw.url, session.id)
    const item = events.find((e) => e.type === 'item.completed' && e.item.type === 'command_execution')
    expect(
      item?.type === 'item.completed' && item.item.type === 'command_execution' && item.item.status,
    ).toMatch(/declined|failed/)
  })

  it('nobody answers: declined after APPROVAL_TIMEOUT_SECONDS, the turn completes', async () => {
    const session = await createSession({ approvalPolicy: 'untrusted', sandbox: 'workspace-write' })
    mock.script({ kind: 'exec_command', cmd: 'echo late > timeout.txt' }, { kind: 'text', text: 'gave up' })
    const t = await json<Turn>(turn(session.id, 'wait for nobody'))
    expect(t.status).toBe('completed')
    expect(existsSync(path.join(session.cwd, 'timeout.txt'))).toBe(false)
    const all = await json<{ approvals: Approval[] }>(fetch(`${gw.url}/v1/approvals?sessionId=${session.id}`))
    expect(all.approvals[0]).toMatchObject({ state: 'resolved', decision: 'decline', by: 'timeout' })
  })

  // The default sandbox mode (CODEX_CONFINE_READS unset: the app-server thread's `sandbox`, codex-acp's
  // `sandbox_mode`); confinement.test.ts proves the same with permission profiles.
  it.each(['codex', 'acp:codex-acp'])(
    'workspace-write, %s: a turn command writes its cwd, neither /tmp nor $TMPDIR',
    async (agent) => {
      const name = `ww-session-${agent.replace(/\W/g, '-')}`
      mkdirSync(path.join(gw.workspace, name))
      const session = await createSession({
        agent,
        cwd: name,
        sandbox: 'workspace-write',
        approvalPolicy: 'never',
      })
      expect(session.id, JSON.stringify(session)).toBeTruthy()
      const writes = tmpWrites(tmpdir)
      mock.script(
        { kind: 'exec_command', cmd: writes.cmd, yieldTimeMs: 10_000 },
        { kind: 'text', text: 'tried' },
      )
      const t = await json<Turn>(turn(session.id, 'write'))
      expect(t.status, JSON.stringify(t)).toBe('completed')
      writes.confined(session.cwd)
      expect((await postJson(`${gw.url}/v1/sessions/${session.id}/archive`, {})).status).toBe(200)
    },
  )

  it('a decision the request did not offer: 400; unknown approval: 404', async () => {
    expect((await postJson(`${gw.url}/v1/approvals/apr_nope`, { decision: 'accept' })).status).toBe(404)
    expect((await postJson(`${gw.url}/v1/approvals/apr_nope`, { decision: 'maybe' })).status).toBe(400)
  })

  it('interrupt during a slow turn: interrupted long before its answer, and the next turn works', async () => {
    const session = await createSession()
    mock.script(
      { kind: 'text', text: 'never arrives', delayMs: 30_000 },
      { kind: 'text', text: 'after the interrupt' },
    )
    const started = await json<Turn>(turn(session.id, 'be slow', ''))
    await waitForStatus(gw.url, session.id, 'running')
    await waitUntil(() => mock.requests.length > 0) // the slow model request is in flight
    const t0 = Date.now()
    const interrupted = await json<Turn>(postJson(`${gw.url}/v1/sessions/${session.id}/interrupt`, {}))
    expect(interrupted).toMatchObject({ id: started.id, status: 'interrupted' })
    // far below the 30 s answer a turn that was not interrupted would wait for (a loaded machine takes seconds)
    expect(Date.now() - t0).toBeLessThan(15_000)
    const next = await json<Turn>(turn(session.id, 'are you back'))
    expect(next).toMatchObject({ status: 'completed', finalResponse: 'after the interrupt' })
  })

  it('onBusy: reject answers 409, queue runs the turn after the running one', async () => {
    const session = await createSession()
    // the first answer is held until the other two turns were sent: the first certainly still runs then
    const slow = held({ kind: 'text', text: 'slow one' })
    mock.script(slow.step, { kind: 'text', text: 'queued one' })
    const first = await json<Turn>(turn(session.id, 'first', ''))
    await waitForStatus(gw.url, session.id, 'running')
    const rejected = await turn(session.id, 'no room', '', { onBusy: 'reject' })
    expect(rejected.status).toBe(409)
    const queued = await json<Turn>(turn(session.id, 'second', ''))
    expect(queued.status).toBe('queued')
    // an image accepted while it was a file inside the workspace, then replaced by a symlink out before its turn
    // starts: the turn fails, codex never asked (the copy is made from the file checked as the turn starts); and one
    // accepted as an image, then overwritten with text: that turn fails too (the copy's first bytes are checked)
    const swapped = path.join(gw.workspace, 'swapped.png')
    const changed = path.join(gw.workspace, 'changed.png')
    writeFileSync(swapped, onePixelPng)
    writeFileSync(changed, onePixelPng)
    const imageTurns: Turn[] = []
    for (const image of ['swapped.png', 'changed.png']) {
      const answer = await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, {
        input: [{ type: 'localImage', path: image }],
      })
      expect(answer.status).toBe(202)
      imageTurns.push(await json<Turn>(answer))
    }
    const [imageTurn, changedTurn] = imageTurns as [Turn, Turn]
    rmSync(swapped)
    const outside = path.join(tempDir('swap-out-'), 'secret.png')
    writeFileSync(outside, 'secret')
    symlinkSync(outside, swapped)
    writeFileSync(changed, 'text now')
    slow.release()
    expect((await finishedTurnAt(gw.url, session.id, first.id)).finalResponse).toBe('slow one')
    expect((await finishedTurnAt(gw.url, session.id, queued.id)).finalResponse).toBe('queued one')
    expect(await finishedTurnAt(gw.url, session.id, imageTurn.id)).toMatchObject({
      status: 'failed',
      input: [{ type: 'localImage', path: 'swapped.png' }],
      error: expect.stringMatching(/^image "swapped\.png" is outside the workspace roots/),
    })
    expect(await finishedTurnAt(gw.url, session.id, changedTurn.id)).toMatchObject({
      status: 'failed',
      input: [{ type: 'localImage', path: 'changed.png' }],
      error:
        'image "changed.png" is not a PNG, JPEG, GIF or WebP image (its first bytes are none of those): no agent takes it',
    })
    expect(mock.requests).toHaveLength(2)
  })

  it('onBusy: steer adds the input to the running turn, kept in its record and as turn.steered', async () => {
    const session = await createSession()
    // the first answer is held until the steer was accepted: the turn certainly runs when it comes
    const slow = held({ kind: 'text', text: 'streaming slowly', chunkDelayMs: 100 })
    mock.script(slow.step, { kind: 'text', text: 'steered answer' })
    const first = await json<Turn>(turn(session.id, 'start something long', ''))
    await waitForStatus(gw.url, session.id, 'running')
    await slow.asked
    // a secret the gateway knows, said by the user, is stored redacted as in any event
    const said = `also mention pineapples ${testApiKey}`
    const steered = await json<Turn>(turn(session.id, said, '', { onBusy: 'steer' }))
    slow.release()
    expect(steered.id).toBe(first.id)
    const done = await finishedTurnAt(gw.url, session.id, first.id)
    expect(done.status).toBe('completed')
    expect(mock.requests.map((_, i) => requestText(i)).join('\n')).toContain('also mention pineapples')
    // the session's durable history keeps what the user said: the turn's record, and its event in the stream
    const recorded = [{ type: 'text', text: 'also mention pineapples [REDACTED]' }]
    const full = await json<Session & { turns: Turn[] }>(fetch(`${gw.url}/v1/sessions/${session.id}`))
    expect(full.turns.find((t) => t.id === first.id)?.steered).toEqual([recorded])
    const events = await sessionEvents(gw.url, session.id)
    const steer = events.find((e) => e.type === 'turn.steered')
    expect(steer).toMatchObject({ type: 'turn.steered', turnId: first.id, input: recorded })
    const end = events.find((e) => e.type === 'turn.completed' && e.turnId === first.id)
    expect(steer!.seq).toBeLessThan(end!.seq)
    expect(JSON.stringify(events)).not.toContain(testApiKey)
    // a client that reconnects with Last-Event-ID gets it replayed
    const replay = await fetch(`${gw.url}/v1/sessions/${session.id}/events`, {
      headers: { accept: 'text/event-stream', 'last-event-id': String(steer!.seq - 1) },
    })
    const [frame] = await readSseUntil(replay, () => true)
    expect(frame).toMatchObject({ id: String(steer!.seq), event: 'turn.steered' })
    expect(JSON.parse(frame!.data)).toMatchObject({ turnId: first.id, input: recorded })
  })

  /** The shared codex app-server's requests, to hold or drop one the way a test needs. */
  const codexHost = () => codexRequestsOf(gw.ctx.registry)
  const turnEvents = async (id: string) =>
    (await sessionEvents(gw.url, id)).filter((ev) => ev.type.startsWith('turn.'))
  /** A new session's first turn, running: its model answer held until `slow` is released. */
  const heldTurn = async () => {
    const session = await createSession()
    const slow = held({ kind: 'text', text: 'never said' })
    mock.script(slow.step)
    const first = await json<Turn>(turn(session.id, 'start something long', ''))
    await slow.asked
    return { session, slow, first }
  }

  it('onBusy: steer codex accepted, its answer back only once the turn ended (interrupted, the steer dropped): withdrawn before the end is stored', async () => {
    const { session, slow, first } = await heldTurn()
    // codex's answer to the steer (accepted) reaches the gateway only once the turn's end is being settled
    const manager = SessionManager.prototype as unknown as { steersLeft(...args: unknown[]): Promise<void> }
    const steersLeft = manager.steersLeft
    let settling!: () => void
    const endSettling = new Promise<void>((resolve) => (settling = resolve))
    manager.steersLeft = function (this: unknown, ...args: unknown[]) {
      const settled = steersLeft.apply(this, args)
      settling()
      return settled
    }
    const host = codexHost()
    const request = host.request
    let accepted!: () => void
    const steerAccepted = new Promise<void>((resolve) => (accepted = resolve))
    host.request = async (...args) => {
      const answer = await request.apply(host, args)
      if (args[0] === 'turn/steer') {
        accepted()
        await endSettling
      }
      return answer
    }
    try {
      const steer = json<Turn>(turn(session.id, 'dropped words', '', { onBusy: 'steer' }))
      await steerAccepted
      // codex drops the pending steer at the interrupt (before its next model request)
      const ended = await json<Turn>(postJson(`${gw.url}/v1/sessions/${session.id}/interrupt`, {}))
      // before: the ended turn claimed the input, told nowhere that codex never had it
      expect(ended).toMatchObject({ id: first.id, status: 'interrupted' })
      expect(ended.steered).toBeUndefined()
      // answered as steered (codex accepted it); the event says where it went
      expect((await steer).id).toBe(first.id)
      const events = await turnEvents(session.id)
      expect(events.map((ev) => ev.type)).toEqual([
        'turn.started',
        'turn.steered',
        'turn.steer_failed',
        'turn.completed',
      ])
      expect(events[2]).toMatchObject({
        turnId: first.id,
        steeredSeq: events[1]!.seq,
        error: 'the turn ended (interrupted) before the agent took the steered input',
      })
    } finally {
      manager.steersLeft = steersLeft
      host.request = request
      slow.release()
    }
    expect(mock.requests.some((r) => JSON.stringify(r.body).includes('dropped words'))).toBe(false)
  })

  it('onBusy: steer into a turn the gateway ends by force (codex ignored its interrupt): withdrawn before the forced end is stored', async () => {
    const { session, slow, first } = await heldTurn()
    // accepted by codex, pending until its next model request, which never comes
    expect((await json<Turn>(turn(session.id, 'unheard words', '', { onBusy: 'steer' }))).id).toBe(first.id)
    // the interrupt never reaches codex (as if it ignored it): the gateway ends the turn by force after its bound,
    // and lets go of codex's thread (that interrupt goes through)
    const host = codexHost()
    const request = host.request
    let dropped = 0
    host.request = async (...args) =>
      args[0] === 'turn/interrupt' && dropped++ === 0 ? {} : request.apply(host, args)
    try {
      const ended = await json<Turn>(postJson(`${gw.url}/v1/sessions/${session.id}/interrupt`, {}))
      expect(ended).toMatchObject({
        id: first.id,
        status: 'interrupted',
        error: expect.stringMatching(/did not stop the turn within/),
      })
      // before: the forced end claimed the input codex never took
      expect(ended.steered).toBeUndefined()
      const events = await turnEvents(session.id)
      expect(events.map((ev) => ev.type)).toEqual([
        'turn.started',
        'turn.steered',
        'turn.steer_failed',
        'turn.completed',
      ])
      expect(events[2]).toMatchObject({ turnId: first.id, steeredSeq: events[1]!.seq })
    } finally {
      host.request = request
      slow.release()
    }
  })

  it('fork: the fork carries the parent history to the fork point; the parent is unchanged', async () => {
    const parent = await createSession()
    mock.script({ kind: 'text', text: 'parent answer one' })
    await turn(parent.id, 'parent question one')
    const fork = await json<Session>(postJson(`${gw.url}/v1/sessions/${parent.id}/fork`, {}))
    // (the parent idle since its turn: nothing stored after the fork point)
    const atFork = await json<Session>(fetch(`${gw.url}/v1/sessions/${parent.id}`))
    // the fork point: the parent's one ended turn and its last event then (its history for a client to show)
    expect(fork).toMatchObject({
      forkedFrom: parent.id,
      forkedAtTurn: 1,
      forkedAtSeq: atFork.lastSeq,
      status: 'idle',
      turnCount: 0,
    })
    expect(fork.agentSessionId).not.toBe(parent.agentSessionId)
    // a fork of the fresh fork (none of its own turns, its parent's history: held-history.ts) holds that history
    const forkOfFork = await json<Session>(postJson(`${gw.url}/v1/sessions/${fork.id}/fork`, {}))
    expect(forkOfFork).toMatchObject({ forkedFrom: fork.id, forkedAtTurn: 0, turnCount: 0 })
    mock.script({ kind: 'text', text: 'fork of a fork answer' })
    expect((await turn(forkOfFork.id, 'fork of a fork question')).status).toBe(200)
    expect(requestText(mock.requests.length - 1)).toContain('parent answer one')
    mock.script({ kind: 'text', text: 'fork answer' }, { kind: 'text', text: 'parent answer two' })
    await turn(fork.id, 'fork only question')
    const forkRequest = requestText(mock.requests.length - 1)
    expect(forkRequest).toContain('parent question one')
    expect(forkRequest).toContain('parent answer one')
    expect(forkRequest).not.toContain('fork of a fork')
    await turn(parent.id, 'parent question two')
    const parentRequest = requestText(mock.requests.length - 1)
    expect(parentRequest).toContain('parent question one')
    expect(parentRequest).not.toContain('fork only question')
    // the parent went on: the fork's point stays where it was
    expect(await json<Session>(fetch(`${gw.url}/v1/sessions/${fork.id}`))).toMatchObject({
      forkedAtTurn: 1,
      forkedAtSeq: atFork.lastSeq,
      turnCount: 1,
    })
    expect(await json<Session>(postJson(`${gw.url}/v1/sessions`, {}))).not.toHaveProperty('forkedAtSeq')
  })

  it("fork while the parent's turn makes items: the fork point is where codex cut, an item or the turn's end it got just before the fork included", async () => {
    const parent = await createSession({ approvalPolicy: 'never', sandbox: 'workspace-write' })
    mock.script({ kind: 'text', text: 'first answer' })
    await turn(parent.id, 'a turn before')
    // the command runs until the test writes a file; the model's answer after it is held until the test lets it go
    const answer = held({ kind: 'text', text: 'answered after the command' })
    mock.script(
      { kind: 'exec_command', cmd: 'until [ -e go ]; do sleep 0.05; done; echo ended', yieldTimeMs: 30_000 },
      answer.step,
    )
    const running = await json<Turn>(turn(parent.id, 'run the command', ''))
    const startedCommand = (events: StoredEvent[]) =>
      events.find((e) => e.type === 'item.started' && e.item.type === 'command_execution')
    const command = startedCommand(await sessionEvents(gw.url, parent.id, (e) => !!startedCommand(e)))
    const commandId = command?.type === 'item.started' ? command.item.id : ''
    const { live } = gw.ctx.tenancy.scope(null).sessions as unknown as { live: LiveSessions }
    const agent = live.get(parent.id)!.agent
    const agentFork = agent.fork
    /** The next fork of the parent: `before` runs between the gateway's read of the parent and codex's fork. */
    const forkAfter = async (before: () => Promise<unknown>) => {
      agent.fork = async (...args) => {
        agent.fork = agentFork
        await before()
        return agentFork.apply(agent, args)
      }
      try {
        return await json<Session>(postJson(`${gw.url}/v1/sessions/${parent.id}/fork`, {}))
      } finally {
        agent.fork = agentFork
      }
    }
    /** What the fork's thread holds of its last turn (codex's own record), and what the parent stored by the point. */
    const compare = async (fork: Session) => {
      const read = (await live.get(fork.id)!.agent.read(true)) as {
        thread: { turns: { id: string; items: { id: string }[] }[] }
      }
      const last = read.thread.turns.at(-1)!
      const events = await sessionEvents(gw.url, parent.id, (e) => (e.at(-1)?.seq ?? 0) >= fork.forkedAtSeq!)
      const upTo = events.filter((e) => e.seq <= fork.forkedAtSeq!)
      const from = upTo.findIndex((e) => e.type === 'turn.started' && e.turnId === running.id)
      const completed = upTo.slice(from).flatMap((e) => {
        if (e.type === 'item.completed') return [e.item.id]
        const raw =
          e.type === 'agent.raw'
            ? (e.payload as { method: string; params: { item: { id: string } } })
            : undefined
        return raw?.method === 'item/completed' ? [raw.params.item.id] : []
      })
      const ended = upTo.some((e) => e.type === 'turn.completed' && e.turnId === running.id)
      return { held: last.items.map((i) => i.id), completed, ended, agentTurn: last.id }
    }
    // the command ends between the gateway's read of its parent and codex's fork: once codex asked the model again,
    // the command's end is in the thread codex forks
    const cut = await forkAfter(async () => {
      writeFileSync(path.join(parent.cwd, 'go'), '')
      await answer.asked
    })
    const atCut = await compare(cut)
    expect(atCut.held).toContain(commandId)
    expect(atCut.completed).toEqual(atCut.held)
    expect(atCut).toMatchObject({
      ended: false,
      agentTurn: (await turnRecord(parent.id, running.id)).agentTurnId,
    })
    expect(cut.forkedAtTurn).toBe(1)
    // the turn ends in between: the fork holds it whole, so its fork point has the turn's end and counts it
    const whole = await forkAfter(async () => {
      answer.release()
      await finishedTurnAt(gw.url, parent.id, running.id)
    })
    const atWhole = await compare(whole)
    expect(atWhole.completed).toEqual(atWhole.held)
    expect(atWhole.ended).toBe(true)
    expect(whole.forkedAtTurn).toBe(2)
  })

  it('archive: a turn on an archived session is refused with 409; the event stream ends', async () => {
    const session = await createSession()
    const archived = await json<Session>(postJson(`${gw.url}/v1/sessions/${session.id}/archive`, {}))
    expect(archived.status).toBe('archived')
    const res = await turn(session.id, 'too late')
    expect(res.status).toBe(409)
    const events = await sessionEvents(gw.url, session.id)
    expect(events.at(-1)).toMatchObject({ type: 'session.status', status: 'archived' })
  })

  it('unknown session: 404 everywhere', async () => {
    expect((await fetch(`${gw.url}/v1/sessions/ses_nope`)).status).toBe(404)
    expect((await turn('ses_nope', 'x')).status).toBe(404)
    expect((await postJson(`${gw.url}/v1/sessions/ses_nope/fork`, {})).status).toBe(404)
  })

  it('killing app-server mid-turn fails the turn with a clear error; the next turn works with history', async () => {
    const session = await createSession()
    mock.script({ kind: 'text', text: 'remember kiwi' })
    await turn(session.id, 'the word is kiwi')
    mock.script({ kind: 'text', text: 'never', delayMs: 30_000 }, { kind: 'text', text: 'still here' })
    const started = await json<Turn>(turn(session.id, 'slow again', ''))
    await waitForStatus(gw.url, session.id, 'running')
    await waitUntil(() => mock.requests.length > 1)
    const appServer = spawnedFrom().find((p) => p.cmd.includes('app-server'))
    expect(appServer).toBeDefined()
    process.kill(appServer!.pid, 'SIGKILL')
    const failed = await finishedTurnAt(gw.url, session.id, started.id)
    expect(failed.status).toBe('failed')
    expect(failed.error).toMatch(/app-server/)
    const next = await json<Turn>(turn(session.id, 'what was the word'))
    expect(next).toMatchObject({ status: 'completed', finalResponse: 'still here' })
    expect(requestText(mock.requests.length - 1)).toContain('the word is kiwi')
  })

  // Its agent process (shared by the sessions started alike, in the data dir) killed: the session's next turn
  // reopens it on a new process (session/load), not "ACP connection closed" until its idle unload.
  it('acp:codex-acp: its agent killed between turns, then during one: that turn fails, the next ones go on with the history', async () => {
    const session = await createSession({ agent: 'acp:codex-acp' })
    const acp = gw.ctx.registry.get('acp:codex-acp') as AcpDriver
    /** Kills the session's agent process (by pid) and waits until the gateway saw it end. */
    const killAgent = async () => {
      const agents = spawnedFrom().filter((p) => p.cmd.includes('codex-acp'))
      expect(agents).toHaveLength(1)
      process.kill(agents[0]!.pid, 'SIGKILL')
      await waitUntil(() => acp.sharedProcesses === 0)
    }
    mock.script({ kind: 'text', text: 'noted mango' })
    expect(await json<Turn>(turn(session.id, 'the fruit is mango'))).toMatchObject({ status: 'completed' })
    // codex-acp answers initialize with promptCapabilities.image: a turn's images go to it as ACP image blocks (the
    // file's bytes read by the gateway, its type sniffed: a PNG named .jpg; a data: URL as it is), and the model gets
    // both. Before, acp:codex-acp refused them (400, "does not support images").
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
      'base64',
    )
    writeFileSync(path.join(gw.workspace, 'mango.jpg'), png)
    const gif = 'data:image/gif;base64,R0lGODlhAQABAAAAACw='
    mock.script({ kind: 'text', text: 'two pixels' })
    const input = [
      { type: 'text', text: 'what are these' },
      { type: 'localImage', path: 'mango.jpg' },
      { type: 'image', url: gif },
    ]
    const seen = await json<Turn>(postJson(`${gw.url}/v1/sessions/${session.id}/turns?wait=true`, { input }))
    expect(seen).toMatchObject({ status: 'completed', finalResponse: 'two pixels', input })
    const sent = requestText(mock.requests.length - 1)
    expect(sent).toContain(`data:image/png;base64,${png.toString('base64')}`)
    expect(sent).toContain(gif)
    expect(sent).toContain('the fruit is mango')
    // an image of more than MAX_IMAGE_BYTES, or none by its first bytes: a 400 naming its item, before the turn. Before, the
    // turn was taken: an image of any size went to the agent as one base64 block, and a text file named .png failed
    // the turn as its prompt was built
    writeFileSync(path.join(gw.workspace, 'mango-huge.png'), paddedPng(png, maxImageBytes + 1))
    writeFileSync(path.join(gw.workspace, 'mango-notes.png'), 'no picture')
    for (const [image, message] of [
      ['mango-huge.png', tooLarge('input[2]', 'mango-huge.png')],
      [
        'mango-notes.png',
        'input[2]: image "mango-notes.png" is not a PNG, JPEG, GIF or WebP image (its first bytes are none of those): no agent takes it',
      ],
    ]) {
      const answer = await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, {
        input: [input[0], input[1], { type: 'localImage', path: image }],
      })
      expect(answer.status, image).toBe(400)
      expect((await json<{ error: { message: string } }>(answer)).error.message).toBe(message)
    }
    // the copy read is gone once the turn ended
    const copies = path.join(gw.env.DATA_DIR!, 'run-images')
    expect(existsSync(copies) ? readdirSync(copies) : []).toEqual([])
    // an ACP agent not known to take images (a custom one, ACP_AGENTS: codex-acp's binary under another name) refuses
    // them (400) before anything starts
    const imagesOf = (id: string) => gw.ctx.registry.get(id).capabilities.images
    expect([imagesOf('acp:codex-acp'), imagesOf('acp:plain')]).toEqual([true, false])
    const image = await postJson(`${gw.url}/v1/runs`, {
      agent: 'acp:plain',
      prompt: 'what is this',
      images: ['mango.jpg'],
    })
    expect(image.status).toBe(400)
    expect(((await image.json()) as { error: { message: string } }).error.message).toBe(
      "agent acp:plain does not support images; GET /v1/agents lists each agent's capabilities",
    )

    await killAgent()
    mock.script({ kind: 'text', text: 'it was mango' })
    const after = await json<Turn>(turn(session.id, 'which fruit'))
    expect(after).toMatchObject({ status: 'completed', finalResponse: 'it was mango' })
    expect(requestText(mock.requests.length - 1)).toContain('the fruit is mango')

    mock.script({ kind: 'text', text: 'never', delayMs: 30_000 }, { kind: 'text', text: 'still mango' })
    const asked = mock.requests.length
    const started = await json<Turn>(turn(session.id, 'be slow', ''))
    await waitUntil(() => mock.requests.length > asked)
    await killAgent()
    const failed = await finishedTurnAt(gw.url, session.id, started.id)
    expect(failed.status).toBe('failed')
    expect(failed.error).toMatch(/codex-acp/)
    const next = await json<Turn>(turn(session.id, 'and now'))
    expect(next).toMatchObject({ status: 'completed', finalResponse: 'still mango' })
    expect(requestText(mock.requests.length - 1)).toContain('the fruit is mango')
    const stored = await json<Session>(fetch(`${gw.url}/v1/sessions/${session.id}`))
    expect(stored).toMatchObject({ turnCount: 5, agentSessionId: session.agentSessionId })
    expect((await postJson(`${gw.url}/v1/sessions/${session.id}/archive`, {})).status).toBe(200)
  })

  it('acp:codex-acp: its agent killed and its thread gone from the codex home: the next turn goes on in a new session, saying so first (context_lost)', async () => {
    const session = await createSession({ agent: 'acp:codex-acp' })
    mock.script({ kind: 'text', text: 'noted papaya' })
    expect(await json<Turn>(turn(session.id, 'the fruit is papaya'))).toMatchObject({ status: 'completed' })
    const agents = spawnedFrom().filter((p) => p.cmd.includes('codex-acp'))
    expect(agents).toHaveLength(1)
    process.kill(agents[0]!.pid, 'SIGKILL')
    const acp = gw.ctx.registry.get('acp:codex-acp') as AcpDriver
    await waitUntil(() => acp.sharedProcesses === 0)
    const rollouts = readdirSync(path.join(gw.env.CODEX_HOME!, 'sessions'), {
      recursive: true,
      encoding: 'utf8',
    }).filter((f) => f.endsWith(`${session.agentSessionId}.jsonl`))
    expect(rollouts).toHaveLength(1)
    for (const f of rollouts) rmSync(path.join(gw.env.CODEX_HOME!, 'sessions', f))

    mock.script({ kind: 'text', text: 'which fruit?' })
    const next = await json<Turn>(turn(session.id, 'name the fruit'))
    expect(next).toMatchObject({ status: 'completed', finalResponse: 'which fruit?' })
    expect(requestText(mock.requests.length - 1)).not.toContain('papaya')
    const events = await sessionEventsUntilTurnEnd(gw.url, session.id, next.id)
    const own = events.slice(events.findIndex((e) => e.type === 'turn.started' && e.turnId === next.id))
    expect(own[1]).toMatchObject({
      type: 'item.completed',
      item: {
        id: 'context_lost',
        type: 'error',
        message: expect.stringMatching(/^context lost: acp:codex-acp/),
      },
    })
    // the new agent session is the session's now: its next resume loads that one
    const stored = await json<Session>(fetch(`${gw.url}/v1/sessions/${session.id}`))
    expect(stored.agentSessionId).not.toBe(session.agentSessionId)
    expect((await postJson(`${gw.url}/v1/sessions/${session.id}/archive`, {})).status).toBe(200)
  })
})

describe('sessions survive a gateway restart', () => {
  it('restart between turns: the session continues with its history', async () => {
    const mock = await startMockLlm()
    const first = await startGateway(mock)
    try {
      const session = (await (await postJson(`${first.url}/v1/sessions`, {})).json()) as Session
      mock.script({ kind: 'text', text: 'noted: mango' })
      await postJson(`${first.url}/v1/sessions/${session.id}/turns?wait=true`, { input: 'remember mango' })
      await first.close()
      const second = await startServer({ env: first.env, cwd: first.dir, logger: false })
      try {
        mock.script({ kind: 'text', text: 'it was mango' })
        const res = await postJson(`${second.url}/v1/sessions/${session.id}/turns?wait=true`, {
          input: 'which fruit',
        })
        const t = (await res.json()) as Turn
        expect(t).toMatchObject({ status: 'completed', finalResponse: 'it was mango' })
        expect(requestInput(mock)).toContain('remember mango')
      } finally {
        await second.close()
      }
    } finally {
      await first.close().catch(() => {})
      await mock.close()
    }
  })
})

// The waits below poll observable state; their bounds are what a loaded 2-core machine may take to get there.
async function waitUntil(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached')
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function waitForStatus(url: string, sessionId: string, status: Session['status']): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    const s = (await (await fetch(`${url}/v1/sessions/${sessionId}`)).json()) as Session
    if (s.status === status) return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`session ${sessionId} never became ${status}`)
}

/**
 * The session's events: its stream (which stays open) read up to the last seq the session has now, or, given
 * `until`, until the events read satisfy it (or 30 s passed: then what came, for the assertion to show).
 */
async function sessionEvents(
  url: string,
  sessionId: string,
  until?: (events: StoredEvent[]) => boolean,
): Promise<StoredEvent[]> {
  const { lastSeq } = (await (await fetch(`${url}/v1/sessions/${sessionId}`)).json()) as Session
  const enough = until ?? ((events: StoredEvent[]) => (events.at(-1)?.seq ?? 0) >= lastSeq)
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), 30_000)
  const events: StoredEvent[] = []
  try {
    const res = await fetch(`${url}/v1/sessions/${sessionId}/events`, {
      headers: { accept: 'application/x-ndjson' },
      signal: controller.signal,
    })
    const decoder = new TextDecoder()
    let text = ''
    for await (const chunk of res.body!) {
      text += decoder.decode(chunk as Uint8Array, { stream: true })
      const lines = text.split('\n')
      text = lines.pop()!
      for (const line of lines) if (line) events.push(JSON.parse(line) as StoredEvent)
      if (enough(events)) break
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err
  } finally {
    clearTimeout(timer)
    controller.abort()
  }
  return events
}
