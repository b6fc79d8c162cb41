import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import type { CodexDriver } from '../../src/agents/codex/driver.js'
import type { Session } from '../../src/protocol/sessions.js'
import { held, whenAsked } from '../mock-llm/asked.js'
import type { MockLlm } from '../mock-llm/index.js'
import { postJson, requestInput, sharedGateway, type TestGateway } from '../support/gateway.js'
import { tempDir } from '../support/temp.js'

/** Seed 003 (Codex Agent Server) with the real codex app-server: the seed's own examples, unchanged. */
/** The fields of the original's Thread model, in its order: what its response_model sent of app-server's record. */
const threadModelFields = ['id', 'preview', 'modelProvider', 'createdAt', 'updatedAt', 'turns']

describe('/api/thread/* and /api/turn/start (seed 003)', () => {
  const shared = sharedGateway()
  let mock: MockLlm
  let gw: TestGateway
  beforeEach(() => ({ mock, gw } = shared))

  const post = async (path: string, body: unknown) => {
    const res = await postJson(`${gw.url}${path}`, body)
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      // biome-ignore lint/suspicious/noExplicitAny: the test walks arbitrary JSON answers
      body: (await res.json()) as Record<string, any>,
    }
  }

  /** The pid of the shared codex app-server (the driver's public getter), started by now. */
  const appServerPid = () => {
    const pid = (gw.ctx.registry.get('codex') as CodexDriver).appServerPid
    if (pid === undefined) throw new Error('codex app-server is not running')
    return pid
  }

  it("runs the seed's complete conversation flow unchanged (cwd /workspace, two turns, read with turns)", async () => {
    mock.script(
      { kind: 'text', text: 'print("Hello, world!")' },
      { kind: 'text', text: 'def greet(name): print(f"Hello, {name}!")' },
    )
    // 1. Create a new thread
    const start = await post('/api/thread/start', { cwd: '/workspace' })
    expect(start.status).toBe(200)
    const threadId = start.body.thread.id as string
    // every field of the original's Thread model (its response_model sent them all): app-server's modelProvider
    // and updatedAt, and no turns yet
    expect(start.body.thread).toEqual({
      id: threadId,
      preview: '',
      modelProvider: expect.any(String),
      createdAt: expect.any(Number),
      updatedAt: expect.any(Number),
      turns: [],
    })
    // 2. Send a message
    const first = await post('/api/turn/start', {
      threadId,
      input: [{ type: 'text', text: 'Write a hello world program in Python' }],
    })
    expect(first.status).toBe(200)
    expect(first.body.turn).toMatchObject({ id: expect.any(String), status: 'completed' })
    // app-server's own records of the turn, as thread/read gives them
    expect(first.body.turn.items).toEqual([
      expect.objectContaining({
        type: 'userMessage',
        content: [expect.objectContaining({ type: 'text', text: 'Write a hello world program in Python' })],
      }),
      expect.objectContaining({ type: 'agentMessage', text: 'print("Hello, world!")' }),
    ])
    // 3. Continue the conversation
    const second = await post('/api/turn/start', {
      threadId,
      input: [{ type: 'text', text: 'Now add a function to greet a specific name' }],
    })
    expect(second.body.turn.status).toBe('completed')
    expect(requestInput(mock)).toContain('Write a hello world program in Python')
    // 4. Read thread history
    const read = await post('/api/thread/read', { threadId, includeTurns: true })
    expect(read.status).toBe(200)
    expect(read.body.thread.id).toBe(threadId)
    expect(read.body.thread.turns).toHaveLength(2)
    expect(read.body.thread.modelProvider).toBe(start.body.thread.modelProvider)
    // the original's Thread model, as its response_model sent it: nothing else of app-server's record (its rollout
    // path, the server's real cwd)
    expect(Object.keys(read.body.thread)).toEqual(threadModelFields)
    expect(read.body.thread).toMatchObject({
      preview: 'Write a hello world program in Python',
      createdAt: expect.any(Number),
      updatedAt: expect.any(Number),
    })
    const bare = await post('/api/thread/read', { threadId })
    expect(bare.body).toEqual({ thread: { ...read.body.thread, turns: [] } })
    // app-server's createdAt, as the original passed on thread/start's and thread/read's: app-server's own answer
    // at the start and a read after the turns were seen a second apart (codex 0.171), so within a second here
    expect(Math.abs(read.body.thread.createdAt - start.body.thread.createdAt)).toBeLessThanOrEqual(1)
    // resume and fork answer the thread with its turns, app-server's records as read lists them
    const resumed = await post('/api/thread/resume', { threadId })
    expect(resumed.status).toBe(200)
    expect(Object.keys(resumed.body.thread)).toEqual(threadModelFields)
    expect(resumed.body.thread).toMatchObject({
      id: threadId,
      preview: 'Write a hello world program in Python',
      modelProvider: start.body.thread.modelProvider,
    })
    expect(resumed.body.thread.updatedAt).toBeGreaterThanOrEqual(start.body.thread.createdAt)
    expect(resumed.body.thread.createdAt).toBe(read.body.thread.createdAt)
    expect(resumed.body.thread.turns.map((t: { id: string }) => t.id)).toEqual(
      read.body.thread.turns.map((t: { id: string }) => t.id),
    )
    const forked = await post('/api/thread/fork', { threadId })
    expect(forked.status).toBe(200)
    expect(forked.body.thread.id).not.toBe(threadId)
    expect(forked.body.thread.modelProvider).toBe(start.body.thread.modelProvider)
    expect(forked.body.thread.turns).toHaveLength(2)
    // app-server's preview of the fork is its history's first message, as the original passed it on (was '')
    expect(forked.body.thread.preview).toBe('Write a hello world program in Python')
    const forkRead = await post('/api/thread/read', { threadId: forked.body.thread.id })
    expect(forkRead.body.thread).toEqual({ ...forked.body.thread, turns: [] })
    expect(forked.body.thread.turns[1].items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'agentMessage', text: 'def greet(name): print(f"Hello, {name}!")' }),
      ]),
    )
    // The thread is a gateway session too, with both turns stored.
    const sessions = (await (await fetch(`${gw.url}/v1/sessions`)).json()) as { sessions: Session[] }
    const session = sessions.sessions.find((s) => s.agentSessionId === threadId)
    expect(session).toMatchObject({ turnCount: 2, status: 'idle' })
  })

  it('the Python client example: start with a cwd, one turn, status and items', async () => {
    mock.script({ kind: 'text', text: 'I can write and run code.' })
    // with fields of the original's models its README leaves out: thread/start's sandbox is honoured (and
    // personality taken), turn/start's approvalPolicy is that turn's
    const { body } = await post('/api/thread/start', {
      cwd: '/workspace',
      sandbox: 'workspace-write',
      personality: 'pragmatic',
    })
    const turn = await post('/api/turn/start', {
      threadId: body.thread.id,
      input: [{ type: 'text', text: 'Hello, what can you do?' }],
      approvalPolicy: 'on-request',
      effort: null,
    })
    expect(turn.body.turn.status).toBe('completed')
    expect(Array.isArray(turn.body.turn.items)).toBe(true)
    // the original's Turn model: `error` always there, null when the turn did not fail
    expect(turn.body.turn.error).toBeNull()
    const sessions = (await (await fetch(`${gw.url}/v1/sessions`)).json()) as { sessions: Session[] }
    const session = sessions.sessions.find((s) => s.agentSessionId === body.thread.id)!
    expect(session.sandbox).toBe('workspace-write')
    const turns = (await (await fetch(`${gw.url}/v1/sessions/${session.id}`)).json()) as {
      turns: { approvalPolicy?: string }[]
    }
    expect(turns.turns.map((t) => t.approvalPolicy)).toEqual(['on-request'])
    // a localImage item (the original's TurnInput, its other fields null) goes to codex's turn/start as its own
    // localImage: the model gets the PNG; a path of the original's container (/workspace) is the workspace's
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
      'base64',
    )
    writeFileSync(path.join(gw.workspace, 'seed-shot.png'), png)
    // another 1x1 PNG, inline
    const inline =
      'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAEElEQVR4AQEFAPr/AAAAAAAABQABZHiVOAAAAABJRU5ErkJggg=='
    mock.script({ kind: 'text', text: 'one pixel' })
    const image = await post('/api/turn/start', {
      threadId: body.thread.id,
      input: [
        { type: 'text', text: 'what is this', url: null, path: null },
        { type: 'localImage', path: '/workspace/seed-shot.png', text: null },
        { type: 'image', url: inline, path: null },
      ],
    })
    expect(image.body.turn).toMatchObject({ status: 'completed', error: null })
    // the data URL as given: passed on to the model
    const asked = JSON.stringify(mock.requests.at(-1)!.body)
    expect(asked).toContain(`data:image/png;base64,${png.toString('base64')}`)
    expect(asked).toContain(inline)
  })

  it("turn/start's outputSchema reaches codex's turn/start: the model is asked for that JSON, for that turn alone", async () => {
    // Seed 003's README: "REST API wrapper for Codex CLI app-server", turn/start "Request: {threadId, input}"; the
    // original's TurnStartRequest (app/models) also had `outputSchema: Optional[Dict[str, Any]]`, which it passed
    // to app-server's turn/start, whose TurnStartParams say: "Optional JSON Schema used to constrain the final
    // assistant message for this turn." The gateway took it and dropped it.
    const schema = {
      type: 'object',
      properties: { greeting: { $ref: '#/$defs/word' } },
      required: ['greeting'],
      additionalProperties: false,
      $defs: { word: { type: 'string' } },
    }
    const { body } = await post('/api/thread/start', { cwd: '/workspace' })
    /** The response format codex asked the model for in its last request. */
    const format = () =>
      (mock.requests.at(-1)?.body as { text?: { format?: unknown } } | undefined)?.text?.format
    mock.script({ kind: 'text', text: '{"greeting":"hi"}' })
    const structured = await post('/api/turn/start', {
      threadId: body.thread.id,
      input: [{ type: 'text', text: 'greet me as JSON' }],
      outputSchema: schema,
    })
    expect(structured.status, JSON.stringify(structured.body)).toBe(200)
    expect(format()).toMatchObject({ type: 'json_schema', schema })
    // the final answer as codex gave it, in app-server's own record of the turn
    expect(structured.body.turn.status).toBe('completed')
    expect(structured.body.turn.items).toContainEqual(
      expect.objectContaining({ type: 'agentMessage', text: '{"greeting":"hi"}' }),
    )
    // the next turn without one is free text again: the schema was that turn's alone
    mock.script({ kind: 'text', text: 'plain words' })
    const plain = await post('/api/turn/start', {
      threadId: body.thread.id,
      input: [{ type: 'text', text: 'and now in words' }],
      outputSchema: null,
    })
    expect(plain.body.turn.status).toBe('completed')
    expect(format()).not.toMatchObject({ type: 'json_schema' })
    // bounded as a run's: a $ref outside the schema is the gateway's 400 with text, before codex is asked
    const asked = mock.requests.length
    const refused = await post('/api/turn/start', {
      threadId: body.thread.id,
      input: [{ type: 'text', text: 'x' }],
      outputSchema: { $ref: 'file:///etc/passwd' },
    })
    expect(refused.status).toBe(400)
    expect(refused.body).toEqual({
      detail: expect.stringMatching(
        /^outputSchema\.\$ref "file:\/\/\/etc\/passwd" points outside the schema/,
      ),
    })
    expect(mock.requests.length).toBe(asked)
  })

  it('optional fields sent as null count as absent (thread/start, skills/list)', async () => {
    const start = await post('/api/thread/start', {
      cwd: '/workspace',
      approvalPolicy: null,
      model: null,
      sandbox: null,
      personality: null,
    })
    expect(start.status).toBe(200)
    expect(start.type).toBe('application/json')
    expect(start.body.thread.id).toEqual(expect.any(String))
    const list = await post('/api/skills/list', { cwds: null })
    expect(list.status).toBe(200)
    expect(Array.isArray(list.body.data)).toBe(true)
  })

  it('resume and fork answer {thread}; the fork has its own id and the parent history', async () => {
    mock.script({ kind: 'text', text: 'parent says hi' }, { kind: 'text', text: 'fork says hi' })
    const { body } = await post('/api/thread/start', { approvalPolicy: 'never' })
    const threadId = body.thread.id as string
    await post('/api/turn/start', { threadId, input: [{ type: 'text', text: 'parent prompt' }] })
    const resumed = await post('/api/thread/resume', { threadId })
    expect(resumed.body.thread).toMatchObject({ id: threadId, preview: 'parent prompt' })
    const fork = await post('/api/thread/fork', { threadId })
    expect(fork.status).toBe(200)
    expect(fork.body.thread.id).not.toBe(threadId)
    // the fork holds its parent's turn before one of its own: app-server resumes it, lists its turns and forks it
    // again, as the original passed on (a fork of it was the gateway's 409)
    const forkId = fork.body.thread.id as string
    const parentTurn = (fork.body.thread.turns as { id: string }[]).map((t) => t.id)
    expect(parentTurn).toHaveLength(1)
    const forkResumed = await post('/api/thread/resume', { threadId: forkId })
    expect(forkResumed.status).toBe(200)
    expect(forkResumed.body.thread.turns.map((t: { id: string }) => t.id)).toEqual(parentTurn)
    const forkOfFork = await post('/api/thread/fork', { threadId: forkId })
    expect(forkOfFork.status, JSON.stringify(forkOfFork.body)).toBe(200)
    expect(forkOfFork.body.thread).toMatchObject({ preview: 'parent prompt' })
    expect(forkOfFork.body.thread.turns.map((t: { id: string }) => t.id)).toEqual(parentTurn)
    const readOfFork = await post('/api/thread/read', {
      threadId: forkOfFork.body.thread.id,
      includeTurns: true,
    })
    expect(readOfFork.body.thread.turns.map((t: { id: string }) => t.id)).toEqual(parentTurn)
    await post('/api/turn/start', {
      threadId: fork.body.thread.id,
      input: [{ type: 'text', text: 'fork prompt' }],
    })
    expect(requestInput(mock)).toContain('parent prompt')
  })

  it('skills: list answers codex skills/list; config/write passes through', async () => {
    const list = await post('/api/skills/list', {})
    expect(list.status).toBe(200)
    expect(Array.isArray(list.body.data)).toBe(true)
    const skill = list.body.data[0].skills[0] as { name: string; path: string; enabled: boolean }
    expect(skill).toMatchObject({ name: expect.any(String), path: expect.any(String) })
    const off = await post('/api/skills/config/write', { path: skill.path, enabled: false })
    expect(off).toEqual({ status: 200, type: 'application/json', body: { effectiveEnabled: false } })
    const after = await post('/api/skills/list', {})
    const listed = (after.body.data[0].skills as { path: string; enabled: boolean }[]).find(
      (s) => s.path === skill.path,
    )
    expect(listed?.enabled).toBe(false)
    const on = await post('/api/skills/config/write', { path: skill.path, enabled: true })
    expect(on).toEqual({ status: 200, type: 'application/json', body: { effectiveEnabled: true } })
    // pydantic's lax bool: "false" is false
    const lax = await post('/api/skills/config/write', { path: skill.path, enabled: 'false' })
    expect(lax).toEqual({ status: 200, type: 'application/json', body: { effectiveEnabled: false } })
    await post('/api/skills/config/write', { path: skill.path, enabled: true })
  })

  // Issue 9 item 6: every path a route accepts is confined; nothing unconfined is persisted into codex's config.
  it('skills: directories outside the workspace are not listed, and no arbitrary path reaches codex config', async () => {
    const outside = tempDir('skills-outside-')
    mkdirSync(path.join(outside, '.codex', 'skills', 'evil'), { recursive: true })
    writeFileSync(
      path.join(outside, '.codex', 'skills', 'evil', 'SKILL.md'),
      '---\nname: evil\ndescription: outside\n---\nx\n',
    )
    for (const cwds of [[outside], ['/etc'], ['../..'], [gw.workspace, '/']]) {
      const res = await post('/api/skills/list', { cwds })
      expect(res.status, JSON.stringify(cwds)).toBe(400)
      expect(res.body.detail).toMatch(/outside the workspace/)
    }
    // an unknown field is ignored, as the original's pydantic model ignored it: never passed on
    const unknownField = await post('/api/skills/list', { cwds: ['/workspace'], extraRoots: [outside] })
    expect(unknownField.status).toBe(200)
    expect(JSON.stringify(unknownField.body)).not.toContain(outside)
    const inside = await post('/api/skills/list', { cwds: ['/workspace'] })
    expect(inside.status).toBe(200)
    expect(JSON.stringify(inside.body)).not.toContain(outside)

    const configFile = path.join(gw.env.CODEX_HOME!, 'config.toml')
    const before = readFileSync(configFile, 'utf8')
    for (const target of [
      path.join(outside, '.codex', 'skills', 'evil', 'SKILL.md'),
      '/etc/passwd',
      'relative/SKILL.md',
    ]) {
      const res = await post('/api/skills/config/write', { path: target, enabled: false })
      expect(res.status, target).toBe(400)
      expect(res.body.detail).toMatch(/skills\/list|absolute/)
    }
    expect(readFileSync(configFile, 'utf8')).toBe(before)
  })

  it("an unknown thread is the original's 400 with app-server's error as detail; what only the gateway refuses a 400 with text", async () => {
    // the original passed any threadId to app-server and answered its JSON-RPC error as 400 {detail: {code,
    // message}}: codex's own words, method by method (checked against codex 0.171 app-server itself)
    const uuid = '0199a0b0-1111-7222-8333-444455556666'
    const refused = (message: string) => ({
      status: 400,
      type: 'application/json',
      body: { detail: { code: -32600, message } },
    })
    const notUuid =
      'invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `n` at 1'
    const turnOf = (threadId: string) => ({ threadId, input: [{ type: 'text', text: 'x' }] })
    for (const [path, body, message] of [
      ['/api/thread/resume', { threadId: 'no-such-thread' }, `invalid session id: ${notUuid}`],
      ['/api/thread/fork', { threadId: 'no-such-thread' }, `invalid session id: ${notUuid}`],
      ['/api/thread/read', { threadId: 'no-such-thread' }, `invalid thread id: ${notUuid}`],
      ['/api/turn/start', turnOf('no-such-thread'), `invalid thread id: ${notUuid}`],
      ['/api/thread/resume', { threadId: uuid }, `no rollout found for thread id ${uuid}`],
      ['/api/thread/fork', { threadId: uuid.toUpperCase() }, `no rollout found for thread id ${uuid}`],
      ['/api/thread/read', { threadId: `{${uuid}}`, includeTurns: true }, `thread not loaded: ${uuid}`],
      ['/api/turn/start', turnOf(uuid), `thread not found: ${uuid}`],
      [
        '/api/turn/start',
        turnOf(''),
        'invalid thread id: invalid length: expected length 32 for simple format, found 0',
      ],
      [
        '/api/thread/read',
        { threadId: `${uuid}0` },
        'invalid thread id: invalid group length in group 4: expected 12, found 13',
      ],
    ] as const)
      expect(await post(path, body), `${path} ${JSON.stringify(body)}`).toEqual(refused(message))
    // a thread codex reads in another form (upper case, braces, no hyphens) is the same thread
    const { thread } = (await post('/api/thread/start', {})).body
    for (const threadId of [thread.id.toUpperCase(), `{${thread.id}}`, thread.id.replaceAll('-', '')]) {
      const read = await post('/api/thread/read', { threadId })
      expect(read.status, threadId).toBe(200)
      expect(read.body.thread.id, threadId).toBe(thread.id)
    }
    // an input item of a type the original's TurnInput knew that the gateway does not take (a skill), or an empty
    // one, the gateway refuses itself
    for (const input of [[], [{ type: 'skill', name: 'x', path: 'y' }], [{ type: 'text', text: '' }]]) {
      const notText = await post('/api/turn/start', { threadId: 'x', input })
      expect(notText.status, JSON.stringify(input)).toBe(400)
      expect(notText.body.detail, JSON.stringify(input)).toMatch(/body\.input/)
    }
    expect(
      (await post('/api/turn/start', { threadId: 'x', input: [{ type: 'skill', name: 'x', path: 'y' }] }))
        .body.detail,
    ).toMatch(/only text, image and localImage input items are taken/)
    // an image URL is passed on, never fetched: a data:image/ one alone (codex refuses a remote one)
    const started = (await post('/api/thread/start', {})).body.thread.id
    const notUrl = await post('/api/turn/start', {
      threadId: started,
      input: [{ type: 'image', url: `${mock.baseUrl}/shot.png` }],
    })
    expect(notUrl).toMatchObject({
      status: 400,
      body: { detail: expect.stringMatching(/is not a data:image\/ URL/) },
    })
    // a localImage outside the workspace (or through a symlink out of it) is refused as a /v1 turn's is
    const elsewhere = tempDir('seed-outside-')
    writeFileSync(path.join(elsewhere, 'secret.png'), 'x')
    symlinkSync(path.join(elsewhere, 'secret.png'), path.join(gw.workspace, 'seed-link.png'))
    for (const image of [path.join(elsewhere, 'secret.png'), 'seed-link.png']) {
      const refused = await post('/api/turn/start', {
        threadId: started,
        input: [{ type: 'localImage', path: image }],
      })
      expect(refused, image).toMatchObject({
        status: 400,
        body: { detail: expect.stringMatching(/outside the workspace/) },
      })
    }
    // an approvalPolicy or sandbox codex has no value of is app-server's refusal, in serde's words (was the
    // gateway's 400 text); a turn's approvalPolicy is read before any lookup, as codex reads params first
    const policies = 'expected one of `untrusted`, `on-request`, `granular`, `never`'
    expect(await post('/api/thread/start', { approvalPolicy: 'sometimes', sandbox: 'none' })).toEqual(
      refused(`Invalid request: unknown variant \`sometimes\`, ${policies}`),
    )
    // codex 0.171 has no `on-failure` (the gateway's /v1 runs it as on-request): app-server's refusal, as the
    // original passed it on (was taken)
    expect(await post('/api/thread/start', { approvalPolicy: 'on-failure' })).toEqual(
      refused(`Invalid request: unknown variant \`on-failure\`, ${policies}`),
    )
    expect(
      await post('/api/turn/start', {
        threadId: started,
        input: [{ type: 'text', text: 'x' }],
        approvalPolicy: 'on-failure',
      }),
    ).toEqual(refused(`Invalid request: unknown variant \`on-failure\`, ${policies}`))
    expect(await post('/api/thread/start', { approvalPolicy: 'granular' })).toEqual(
      refused('Invalid request: invalid type: unit variant, expected struct variant'),
    )
    expect(
      await post('/api/turn/start', {
        threadId: 'no-such-thread',
        input: [{ type: 'text', text: 'x' }],
        approvalPolicy: '',
      }),
    ).toEqual(refused(`Invalid request: unknown variant \`\`, ${policies}`))
    expect(await post('/api/thread/start', { sandbox: 'none' })).toEqual(
      refused(
        'Invalid request: unknown variant `none`, expected one of `read-only`, `workspace-write`, `danger-full-access`',
      ),
    )
    const danger = await post('/api/thread/start', { sandbox: 'danger-full-access' })
    expect(danger.status).toBe(400)
    expect(danger.body.detail).toMatch(/ALLOW_DANGER_FULL_ACCESS/)
    const outside = await post('/api/thread/start', { cwd: '/etc' })
    expect(outside.status).toBe(400)
    expect(outside.body.detail).toMatch(/outside the workspace/)
  })

  it("a turn not done within CODEX_REQUEST_TIMEOUT is the original's 504, and goes on", async () => {
    // the model's answer is held until after the 504: the turn certainly outlasts the (lowered) timeout
    const slow = held({ kind: 'text', text: 'done after all' })
    mock.script(slow.step, { kind: 'text', text: 'second' })
    const { thread } = (await post('/api/thread/start', {})).body
    const { config } = gw.ctx
    const timeout = config.CODEX_REQUEST_TIMEOUT
    config.CODEX_REQUEST_TIMEOUT = 1
    try {
      const late = await post('/api/turn/start', {
        threadId: thread.id,
        input: [{ type: 'text', text: 'slow' }],
      })
      expect(late).toEqual({
        status: 504,
        type: 'application/json',
        body: { detail: 'Turn completion timeout after 1.0s' },
      })
    } finally {
      config.CODEX_REQUEST_TIMEOUT = timeout
      slow.release()
    }
    // the turn went on: the next one queues behind it, and the thread has both
    const next = await post('/api/turn/start', {
      threadId: thread.id,
      input: [{ type: 'text', text: 'next' }],
    })
    expect(next.body.turn.status, JSON.stringify(next.body)).toBe('completed')
    const read = await post('/api/thread/read', { threadId: thread.id, includeTurns: true })
    const turns = read.body.thread.turns as { status: string; items: { type: string; text?: string }[] }[]
    expect(turns.map((t) => t.status)).toEqual(['completed', 'completed'])
    expect(turns[0]!.items.find((i) => i.type === 'agentMessage')?.text).toBe('done after all')
  })

  it('an archived thread, and a fork of a thread with nothing written, answer what app-server answers', async () => {
    const refused = (message: string) => ({
      status: 400,
      type: 'application/json',
      body: { detail: { code: -32600, message } },
    })
    // app-server has no rollout of a thread before its first turn: nothing to fork (was the gateway's 409 text)
    const fresh = (await post('/api/thread/start', {})).body.thread.id as string
    expect(await post('/api/thread/fork', { threadId: fresh })).toEqual(
      refused(`no rollout found for thread id ${fresh}`),
    )
    // nor to resume, nor turns to list (codex 0.171's "not supported yet", -32601), as the original passed on
    // (both answered the thread with turns [])
    expect(await post('/api/thread/resume', { threadId: fresh })).toEqual(
      refused(`no rollout found for thread id ${fresh}`),
    )
    expect(await post('/api/thread/read', { threadId: fresh, includeTurns: true })).toEqual({
      status: 400,
      type: 'application/json',
      body: { detail: { code: -32601, message: 'list_turns is not supported yet' } },
    })
    expect((await post('/api/thread/read', { threadId: fresh })).body.thread).toMatchObject({
      id: fresh,
      turns: [],
    })
    mock.script({ kind: 'text', text: 'archived answer' })
    const threadId = (await post('/api/thread/start', {})).body.thread.id as string
    await post('/api/turn/start', { threadId, input: [{ type: 'text', text: 'before the archive' }] })
    const sessions = (await (await fetch(`${gw.url}/v1/sessions`)).json()) as { sessions: Session[] }
    const session = sessions.sessions.find((s) => s.agentSessionId === threadId)!
    expect((await postJson(`${gw.url}/v1/sessions/${session.id}/archive`, {})).status).toBe(200)
    // resume and fork refuse it until `codex unarchive` (codex 0.171's words, the id as codex reads it), turn/start
    // finds no loaded thread, read reads it from its archived rollout (each was the gateway's 409 text)
    const archived = refused(
      `session ${threadId} is archived. Run \`codex unarchive ${threadId}\` to unarchive it first.`,
    )
    expect(await post('/api/thread/resume', { threadId })).toEqual(archived)
    expect(await post('/api/thread/fork', { threadId: threadId.toUpperCase() })).toEqual(archived)
    expect(
      await post('/api/turn/start', { threadId, input: [{ type: 'text', text: 'after the archive' }] }),
    ).toEqual(refused(`thread not found: ${threadId}`))
    const read = await post('/api/thread/read', { threadId, includeTurns: true })
    expect(read.status).toBe(200)
    expect(read.body.thread).toMatchObject({ id: threadId, preview: 'before the archive' })
    expect(Object.keys(read.body.thread)).toEqual(threadModelFields)
    expect(read.body.thread.turns).toHaveLength(1)
    expect(read.body.thread.turns[0].items).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'agentMessage', text: 'archived answer' })]),
    )
    const bare = await post('/api/thread/read', { threadId })
    expect(bare.status).toBe(200)
    expect(bare.body.thread.id).toBe(threadId)
    expect(mock.requests).toHaveLength(1)
  })

  it("a codex request that timed out is the original's 500 with an empty detail (on turn/start its 504)", async () => {
    mock.script({ kind: 'text', text: 'a turn to fork' })
    const parent = (await post('/api/thread/start', {})).body.thread.id as string
    await post('/api/turn/start', { threadId: parent, input: [{ type: 'text', text: 'parent' }] })
    const idle = (await post('/api/thread/start', {})).body.thread.id as string
    // codex app-server, stopped, answers nothing; the gateway gives up on each request after 1 s
    // (CODEX_REQUEST_TIMEOUT, read at each request; the turn's wait too)
    const late = whenAsked({ kind: 'text', text: 'the turn codex started late' })
    mock.script(late.step)
    const pid = appServerPid()
    const { config } = gw.ctx
    const limit = config.CODEX_REQUEST_TIMEOUT
    config.CODEX_REQUEST_TIMEOUT = 1
    process.kill(pid, 'SIGSTOP')
    // the original: `except Exception as e` -> HTTPException(500, str(e)), and str(asyncio.TimeoutError()) is ''
    const empty = { status: 500, type: 'application/json', body: { detail: '' } }
    try {
      // all at once: each waits its own second
      const answers = await Promise.all([
        post('/api/thread/start', { cwd: '/workspace' }),
        post('/api/thread/read', { threadId: idle, includeTurns: false }),
        post('/api/thread/fork', { threadId: parent }),
        // loaded: only the thread/read behind its answer asks codex (its fields were left null, a 200)
        post('/api/thread/resume', { threadId: parent }),
        post('/api/skills/list', {}),
        post('/api/skills/config/write', { path: path.join(gw.workspace, 'SKILL.md'), enabled: true }),
        post('/api/turn/start', { threadId: idle, input: [{ type: 'text', text: 'stuck' }] }),
      ])
      expect(answers).toEqual([
        ...Array(6).fill(empty),
        // turn/start caught the request's timeout with the turn's: its 504 (was 200 with a failed turn)
        { status: 504, type: 'application/json', body: { detail: 'Turn completion timeout after 1.0s' } },
      ])
    } finally {
      process.kill(pid, 'SIGCONT')
      config.CODEX_REQUEST_TIMEOUT = limit
    }
    // codex reads what it was sent meanwhile and starts that turn (as the original's app-server did): it is
    // answered here, not in a later test
    await late.asked
    expect((await post('/api/thread/read', { threadId: parent })).status).toBe(200)
  })

  it("GET /health has the original's codex_alive, after seed 002's status and service", async () => {
    // /health never waits for a probe: this one has answered
    await gw.ctx.registry.get('codex').probe()
    const res = await fetch(`${gw.url}/health`)
    const body = (await res.json()) as Record<string, unknown>
    expect(res.status).toBe(200)
    expect(Object.entries(body).slice(0, 3)).toEqual([
      ['status', 'healthy'],
      ['service', 'codex-streaming-api'],
      ['codex_alive', true],
    ])
    // without API_TOKENS (loopback) everyone gets the full report, and it depends on no token
    expect(Object.keys(body).slice(3)).toEqual(['agents', 'store', 'runs', 'containers'])
    expect(res.headers.get('vary')).toBeNull()
  })

  it("a body the original's pydantic models refused is FastAPI's 422, error for error in field order", async () => {
    const send = async (path: string, body: string, contentType = 'application/json') => {
      const res = await fetch(`${gw.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body,
      })
      // biome-ignore lint/suspicious/noExplicitAny: the test walks arbitrary JSON answers
      return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as any }
    }
    const detail = (...errors: unknown[]) => ({
      status: 422,
      type: 'application/json',
      body: { detail: errors },
    })
    // a required field missing, a wrong type after it: one error each, in the model's order
    expect(await send('/api/turn/start', '{"input":"hi"}')).toEqual(
      detail(
        { type: 'missing', loc: ['body', 'threadId'], msg: 'Field required', input: { input: 'hi' } },
        { type: 'list_type', loc: ['body', 'input'], msg: 'Input should be a valid list', input: 'hi' },
      ),
    )
    expect(await send('/api/turn/start', '{"threadId":7,"input":["hi"]}')).toEqual(
      detail(
        { type: 'string_type', loc: ['body', 'threadId'], msg: 'Input should be a valid string', input: 7 },
        {
          type: 'model_type',
          loc: ['body', 'input', 0],
          msg: 'Input should be a valid dictionary or instance of TurnInput',
          input: 'hi',
          ctx: { class_name: 'TurnInput' },
        },
      ),
    )
    // an input item is the original's TurnInput: a type it did not know (any but text, image, localImage,
    // skill, mention), or none, is its 422, as are fields of the wrong type; so is a SandboxPolicy that is not one
    const literal = "'text', 'image', 'localImage', 'skill' or 'mention'"
    expect(
      await send(
        '/api/turn/start',
        '{"threadId":"t","input":[{"type":"audio","url":"a"},{"text":"x"},{"type":"text","text":5}],"sandboxPolicy":"x"}',
      ),
    ).toEqual(
      detail(
        {
          type: 'literal_error',
          loc: ['body', 'input', 0, 'type'],
          msg: `Input should be ${literal}`,
          input: 'audio',
          ctx: { expected: literal },
        },
        { type: 'missing', loc: ['body', 'input', 1, 'type'], msg: 'Field required', input: { text: 'x' } },
        {
          type: 'string_type',
          loc: ['body', 'input', 2, 'text'],
          msg: 'Input should be a valid string',
          input: 5,
        },
        {
          type: 'model_type',
          loc: ['body', 'sandboxPolicy'],
          msg: 'Input should be a valid dictionary or instance of SandboxPolicy',
          input: 'x',
          ctx: { class_name: 'SandboxPolicy' },
        },
      ),
    )
    expect(
      await send(
        '/api/turn/start',
        '{"threadId":"t","input":[],"sandboxPolicy":{"writableRoots":"a","networkAccess":"maybe"}}',
      ),
    ).toEqual(
      detail(
        {
          type: 'missing',
          loc: ['body', 'sandboxPolicy', 'type'],
          msg: 'Field required',
          input: { writableRoots: 'a', networkAccess: 'maybe' },
        },
        {
          type: 'list_type',
          loc: ['body', 'sandboxPolicy', 'writableRoots'],
          msg: 'Input should be a valid list',
          input: 'a',
        },
        {
          type: 'bool_parsing',
          loc: ['body', 'sandboxPolicy', 'networkAccess'],
          msg: 'Input should be a valid boolean, unable to interpret input',
          input: 'maybe',
        },
      ),
    )
    expect(await send('/api/thread/read', '{"threadId":"t","includeTurns":"maybe"}')).toEqual(
      detail({
        type: 'bool_parsing',
        loc: ['body', 'includeTurns'],
        msg: 'Input should be a valid boolean, unable to interpret input',
        input: 'maybe',
      }),
    )
    expect(await send('/api/skills/config/write', '{"path":null}')).toEqual(
      detail(
        { type: 'string_type', loc: ['body', 'path'], msg: 'Input should be a valid string', input: null },
        { type: 'missing', loc: ['body', 'enabled'], msg: 'Field required', input: { path: null } },
      ),
    )
    expect(await send('/api/skills/list', '{"cwds":5}')).toEqual(
      detail({ type: 'list_type', loc: ['body', 'cwds'], msg: 'Input should be a valid list', input: 5 }),
    )
    expect(await send('/api/thread/start', '{"cwd":1}')).toEqual(
      detail({ type: 'string_type', loc: ['body', 'cwd'], msg: 'Input should be a valid string', input: 1 }),
    )
    // the fields of the original's models the README leaves out, in their declaration order
    expect(await send('/api/thread/start', '{"sandbox":true,"cwd":1,"model":2}')).toEqual(
      detail(
        { type: 'string_type', loc: ['body', 'model'], msg: 'Input should be a valid string', input: 2 },
        { type: 'string_type', loc: ['body', 'cwd'], msg: 'Input should be a valid string', input: 1 },
        { type: 'string_type', loc: ['body', 'sandbox'], msg: 'Input should be a valid string', input: true },
      ),
    )
    expect(
      await send('/api/turn/start', '{"threadId":"t","input":[],"outputSchema":"x","personality":5}'),
    ).toEqual(
      detail(
        {
          type: 'string_type',
          loc: ['body', 'personality'],
          msg: 'Input should be a valid string',
          input: 5,
        },
        {
          type: 'dict_type',
          loc: ['body', 'outputSchema'],
          msg: 'Input should be a valid dictionary',
          input: 'x',
        },
      ),
    )
    // forceReload and includeTurns default to false but are not Optional: null is refused
    expect(await send('/api/skills/list', '{"forceReload":null}')).toEqual(
      detail({
        type: 'bool_type',
        loc: ['body', 'forceReload'],
        msg: 'Input should be a valid boolean',
        input: null,
      }),
    )
    // the body missing, not an object, not JSON, or not sent as JSON (FastAPI read it as bytes)
    expect(await send('/api/thread/start', '')).toEqual(
      detail({ type: 'missing', loc: ['body'], msg: 'Field required', input: null }),
    )
    expect(await send('/api/thread/fork', '["t"]')).toEqual(
      detail({
        type: 'model_attributes_type',
        loc: ['body'],
        msg: 'Input should be a valid dictionary or object to extract fields from',
        input: ['t'],
      }),
    )
    expect(await send('/api/thread/resume', '{"threadId": "t",}')).toEqual(
      detail({
        type: 'json_invalid',
        loc: ['body', 17],
        msg: 'JSON decode error',
        input: {},
        ctx: { error: 'Expecting property name enclosed in double quotes' },
      }),
    )
    expect((await send('/api/skills/list', '{}', 'text/plain')).body.detail[0].type).toBe(
      'model_attributes_type',
    )
  })
})
