import { existsSync } from 'node:fs'
import http from 'node:http'
import { Http2ServerResponse } from 'node:http2'
import path from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { AppServerProcess } from '../../src/agents/codex-app-server/app-server-process.js'
import type { Approval, Session, Turn } from '../../src/protocol/sessions.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { held } from '../mock-llm/index.js'
import { AgentStreamClient, encode, type Frame, streamSession } from '../support/agent-stream-client.js'
import { codexRequestsOf, failCodexSteers } from '../support/codex-requests.js'
import { finishedTurnAt, postJson, requestInput, sharedH2Gateway } from '../support/gateway.js'
import { h2connect, h2request } from '../support/h2-client.js'
import { startH2FrameLog } from '../support/h2-frame-log.js'
import { processesUnder } from '../support/processes.js'
import { nextEvent } from '../support/stubborn-agent.js'

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
let counter = 0
const newSessionId = () => `client-session-${process.pid}-${++counter}`

/** Seed 004's POST /agent/stream over h2c with the real codex and the mock model. */
describe('POST /agent/stream (h2c)', () => {
  const shared = sharedH2Gateway({ APPROVAL_TIMEOUT_SECONDS: '4' })

  const open = (framing: 'ndjson' | 'length-prefixed' = 'ndjson') => new AgentStreamClient(shared.h2, framing)
  const sessionOf = async (clientId: string) => {
    const found = await streamSession(shared.gw.url, clientId)
    return found
  }

  for (const framing of ['ndjson', 'length-prefixed'] as const)
    it(`${framing}: status frames, the mock's text as an item, "Agent run completed."`, async () => {
      shared.mock.script({ kind: 'text', text: `hello over ${framing}` })
      const c = open(framing)
      const sessionId = newSessionId()
      await c.send({ type: 'user_message', id: crypto.randomUUID(), sessionId, content: 'say hello' })
      await c.status_('Agent run completed.')
      expect(c.status).toBe(200)
      expect(c.headers['content-type']).toContain(
        framing === 'ndjson' ? 'application/x-ndjson' : 'application/length-prefixed-json',
      )
      const statuses = c.frames.filter((f) => f.type === 'status').map((f) => f.message)
      expect(statuses).toEqual([
        `Session ${sessionId} initialized.`,
        'Agent processing... ',
        'Agent thinking...',
        'Agent idle...',
        'Agent run completed.',
      ])
      expect(c.texts()).toEqual([`hello over ${framing}`])
      // the turn's end is one write: its two frames come in the same read (the client has the turn at once)
      const readOfStatus = (m: string) => c.readOf[c.frames.findIndex((f) => f.message === m)]
      expect(readOfStatus('Agent run completed.')).toBe(readOfStatus('Agent idle...'))
      const item = c.frames.find((f) => f.type === 'item')!
      expect(item.responseItem).toMatchObject({ type: 'message', role: 'assistant' })
      for (const f of c.frames) expect(f.id).toMatch(uuid)
      c.end()
      await c.next((f) => f.type === 'terminate')
      expect(c.frames.at(-1)).toMatchObject({ type: 'terminate', reason: 'Stream ended from server side.' })
      await c.ended
    })

  it('a client that ends its side right after its message (curl -d) gets the whole turn, then terminate', async () => {
    shared.mock.script({ kind: 'text', text: 'answered after the end' })
    const c = open()
    await c.send({ type: 'user_message', sessionId: newSessionId(), content: 'one shot' })
    c.end()
    await c.ended
    // the original read the next frame, and so the end, only once the run was over: it was not interrupted
    expect(c.frames.filter((f) => f.type === 'status').map((f) => f.message)).toEqual([
      expect.stringMatching(/^Session .* initialized\.$/),
      'Agent processing... ',
      'Agent thinking...',
      'Agent idle...',
      'Agent run completed.',
    ])
    expect(c.texts()).toEqual(['answered after the end'])
    expect(c.frames.at(-1)).toMatchObject({ type: 'terminate', reason: 'Stream ended from server side.' })
  })

  it('a warm turn: "Agent processing..." is written after turn/start went to codex, still before the turn\'s frames', async () => {
    shared.mock.script({ kind: 'text', text: 'first' }, { kind: 'text', text: 'second' })
    const c = open('length-prefixed')
    const sessionId = newSessionId()
    await c.send({ type: 'user_message', sessionId, content: 'one' })
    await c.status_('Agent run completed.')
    const from = c.frames.length
    // the gateway runs in this process: the order of its calls to codex's pipe and to the HTTP/2 response
    const toCodex = vi.spyOn(AppServerProcess.prototype, 'send')
    const toClient = vi.spyOn(Http2ServerResponse.prototype, 'write')
    let turnStart: number | undefined
    let processing: number | undefined
    try {
      await c.send({ type: 'user_message', sessionId, content: 'two' })
      await c.status_('Agent run completed.', from)
      // (restoring a spy clears what it recorded)
      turnStart = toCodex.mock.invocationCallOrder[toCodex.mock.calls.findIndex(([m]) => m === 'turn/start')]
      processing =
        toClient.mock.invocationCallOrder[
          toClient.mock.calls.findIndex(([chunk]) =>
            Buffer.from(chunk as Uint8Array).includes('Agent processing'),
          )
        ]
    } finally {
      toCodex.mockRestore()
      toClient.mockRestore()
    }
    expect(turnStart).toBeDefined()
    expect(processing).toBeDefined()
    expect(turnStart).toBeLessThan(processing!)
    const statuses = c.frames.slice(from).filter((f) => f.type === 'status')
    expect(statuses.map((f) => f.message)).toEqual([
      'Agent processing... ',
      'Agent thinking...',
      'Agent idle...',
      'Agent run completed.',
    ])
    expect(c.texts()).toEqual(['first', 'second'])
    c.end()
    await c.ended
  })

  it('a frame split across DATA frames, and several frames in one chunk, decode', async () => {
    for (const framing of ['ndjson', 'length-prefixed'] as const) {
      shared.mock.script({ kind: 'text', text: `split ${framing}` })
      const c = open(framing)
      const sessionId = newSessionId()
      // One chunk: a cancel before any user_message (SESSION_NOT_INIT) and the start of the user_message.
      const cancel = encode(framing, { type: 'cancel', sessionId })
      const message = encode(framing, { type: 'user_message', sessionId, content: 'split me please' })
      await c.writeRaw(Buffer.concat([cancel, message.subarray(0, 3)]))
      await c.writeRaw(message.subarray(3, 10))
      await c.writeRaw(message.subarray(10))
      await c.status_('Agent run completed.')
      expect(c.frames[0]).toMatchObject({ type: 'error', code: 'SESSION_NOT_INIT' })
      expect(c.texts()).toEqual([`split ${framing}`])
      c.end()
      await c.ended
    }
  })

  it('command_prompt, approve allow: the command ran', async () => {
    shared.mock.script(
      { kind: 'exec_command', cmd: 'echo yes > allowed.txt' },
      { kind: 'text', text: 'wrote it' },
    )
    const c = open()
    const sessionId = newSessionId()
    await c.send({ type: 'user_message', sessionId, content: 'write the file' })
    const prompt = await c.next((f) => f.type === 'command_prompt')
    expect(prompt.commandId).toMatch(new RegExp(`^${sessionId}-cmd-[0-9a-f-]{36}$`))
    expect((prompt.command as string[]).join(' ')).toContain('allowed.txt')
    await c.send({ type: 'approve', sessionId, commandId: prompt.commandId, decision: 'allow' })
    await c.status_('Agent run completed.')
    const session = await sessionOf(sessionId)
    expect(existsSync(path.join(session.cwd, 'allowed.txt'))).toBe(true)
    const kinds = c.frames.filter((f) => f.type === 'item').map((f) => (f.responseItem as Frame).type)
    expect(kinds).toEqual(['local_shell_call', 'function_call_output', 'message'])
    expect(c.texts()).toEqual(['wrote it'])
    c.end()
    await c.ended
  })

  it('approve deny: the command did not run, the explanation reached the agent, it went on', async () => {
    shared.mock.script(
      { kind: 'exec_command', cmd: 'echo no > denied.txt' },
      { kind: 'text', text: 'ok, not writing' },
      { kind: 'text', text: 'noted' },
    )
    const c = open()
    const sessionId = newSessionId()
    await c.send({ type: 'user_message', sessionId, content: 'try to write' })
    const prompt = await c.next((f) => f.type === 'command_prompt')
    await c.send({
      type: 'approve',
      sessionId,
      commandId: prompt.commandId,
      decision: 'deny',
      explanation: 'never write files named denied',
    })
    await c.status_('Agent run completed.')
    const session = await sessionOf(sessionId)
    expect(existsSync(path.join(session.cwd, 'denied.txt'))).toBe(false)
    // The refusal and the explanation (steered into the turn) reach the model; it answers and the run ends.
    expect(c.texts().length).toBeGreaterThan(0)
    for (const text of c.texts()) expect(['ok, not writing', 'noted']).toContain(text)
    const sent = shared.mock.requests.map((r) => JSON.stringify(r.body)).join('\n')
    expect(sent).toContain('never write files named denied')
    // and it is kept in the session's history: steered into the turn it refused (its own turn, had that one ended)
    const { turns } = (await (await fetch(`${shared.gw.url}/v1/sessions/${session.id}`)).json()) as {
      turns: Turn[]
    }
    const said = turns
      .flatMap((t) => [t.input, ...(t.steered ?? [])])
      .flatMap((input) => input.map((p) => (p.type === 'text' ? p.text : p.type)))
    expect(said).toEqual(['try to write', 'never write files named denied'])
    c.end()
    await c.ended
  })

  it('approve deny whose explanation does not reach the agent: the stream is told (INPUT_NOT_DELIVERED), the run goes on', async () => {
    // the answer after the deny is held until the explanation's fate is stored: the turn runs while it is steered
    const after = held({ kind: 'text', text: 'ok, not writing' })
    shared.mock.script({ kind: 'exec_command', cmd: 'echo no > undelivered.txt' }, after.step)
    // the explanation's steer is recorded, then codex answers it with an error: it is withdrawn (turn.steer_failed)
    const restoreSteers = failCodexSteers(codexRequestsOf(shared.gw.ctx.registry))
    try {
      const c = open()
      const sessionId = newSessionId()
      await c.send({ type: 'user_message', sessionId, content: 'try to write' })
      const prompt = await c.next((f) => f.type === 'command_prompt')
      const withdrawn = nextEvent(shared.gw, (ev) => (ev.type === 'turn.steer_failed' ? ev : undefined))
      await c.send({
        type: 'approve',
        sessionId,
        commandId: prompt.commandId,
        decision: 'deny',
        explanation: 'this never gets there',
      })
      await withdrawn
      after.release()
      await c.status_('Agent run completed.')
      // before: nothing said it; the client took its explanation for delivered
      expect(c.frames.filter((f) => f.type === 'error')).toEqual([
        expect.objectContaining({
          code: 'INPUT_NOT_DELIVERED',
          retryable: true,
          message: expect.stringContaining('codex answered the steer with an error'),
        }),
      ])
      c.end()
      await c.ended
    } finally {
      restoreSteers()
      after.release()
    }
    const sent = shared.mock.requests.map((r) => JSON.stringify(r.body)).join('\n')
    expect(sent).not.toContain('this never gets there')
  })

  it('approve deny whose explanation fails and whose withdrawal is not stored: the stream is told all the same', async () => {
    const after = held({ kind: 'text', text: 'ok, not writing' })
    shared.mock.script({ kind: 'exec_command', cmd: 'echo no > unwithdrawn.txt' }, after.step)
    // the explanation's steer is recorded, codex answers it with an error, and its withdrawal's write fails (as
    // on a full disk): no turn.steer_failed is stored, the steer stays recorded
    const restoreSteers = failCodexSteers(codexRequestsOf(shared.gw.ctx.registry))
    type Update = (...args: unknown[]) => Promise<unknown>
    const store = shared.gw.ctx.store as unknown as { updateTurnWithEvents: Update }
    const update = store.updateTurnWithEvents
    store.updateTurnWithEvents = async function (this: unknown, ...args: unknown[]) {
      const events = (args[4] as (step: unknown) => { event: { type: string } }[])(undefined)
      if (events.some((e) => e.event.type === 'turn.steer_failed')) throw new Error('disk full (test)')
      return update.apply(this, args)
    }
    try {
      const c = open()
      const sessionId = newSessionId()
      await c.send({ type: 'user_message', sessionId, content: 'try to write' })
      const prompt = await c.next((f) => f.type === 'command_prompt')
      await c.send({
        type: 'approve',
        sessionId,
        commandId: prompt.commandId,
        decision: 'deny',
        explanation: 'this is not withdrawn',
      })
      // before: dropped without a word (no event to make the frame of)
      const told = await c.next((f) => f.type === 'error')
      expect(told).toMatchObject({ code: 'INPUT_NOT_DELIVERED', retryable: true })
      expect(told.message).toContain('codex answered the steer with an error')
      expect(told.message).toContain('could not be withdrawn (disk full (test))')
      after.release()
      await c.status_('Agent run completed.')
      expect(c.frames.filter((f) => f.type === 'error')).toHaveLength(1)
      c.end()
      await c.ended
    } finally {
      restoreSteers()
      store.updateTurnWithEvents = update
      after.release()
    }
  })

  it('approve deny whose explanation finds the session archived meanwhile: told, not retryable; nothing runs on', async () => {
    const after = held({ kind: 'text', text: 'ok, not writing' })
    shared.mock.script({ kind: 'exec_command', cmd: 'echo no > archived-meanwhile.txt' }, after.step)
    // the session is archived (POST /v1/sessions/:id/archive, over the socket) after the stream saw it busy and
    // before the explanation's steer is asked: the steer finds it archived
    const sessions = shared.gw.ctx.tenancy.scope(null).sessions
    const startTurn = sessions.startTurn
    let archived: Session | undefined
    sessions.startTurn = async function (this: unknown, ...args: Parameters<typeof startTurn>) {
      if (args[2] === 'steer')
        archived = (await (
          await postJson(`${shared.gw.url}/v1/sessions/${args[0]}/archive`, {})
        ).json()) as Session
      return startTurn.apply(this, args)
    }
    try {
      const c = open()
      const sessionId = newSessionId()
      await c.send({ type: 'user_message', sessionId, content: 'try to write' })
      const prompt = await c.next((f) => f.type === 'command_prompt')
      const session = await sessionOf(sessionId)
      await c.send({
        type: 'approve',
        sessionId,
        commandId: prompt.commandId,
        decision: 'deny',
        explanation: 'this finds the session archived',
      })
      const told = await c.next((f) => f.type === 'error')
      expect(archived).toMatchObject({ id: session.id, status: 'archived' })
      // a 409 (the session archived): sending it again cannot help
      expect(told).toMatchObject({
        code: 'INPUT_NOT_DELIVERED',
        retryable: false,
        message: `Input for the running turn did not reach the agent: session ${session.id} is archived`,
      })
      expect(c.frames.filter((f) => f.type === 'error')).toHaveLength(1)
      c.end()
      await c.ended
      // nothing runs on: the turn ended with the archive (interrupted), the explanation started no turn and joined
      // none, the session is not busy, and the model never got it
      const stored = (await (await fetch(`${shared.gw.url}/v1/sessions/${session.id}`)).json()) as Session & {
        turns: Turn[]
      }
      expect(stored.status).toBe('archived')
      expect(stored.turns.map((t) => [t.status, t.steered ?? []])).toEqual([['interrupted', []]])
      expect(await sessions.busy(session.id)).toBe(false)
      expect(processesUnder(session.cwd).filter((p) => p.cmd.includes('archived-meanwhile'))).toEqual([])
      const sent = shared.mock.requests.map((r) => JSON.stringify(r.body)).join('\n')
      expect(sent).not.toContain('this finds the session archived')
    } finally {
      sessions.startTurn = startTurn
      after.release()
    }
  })

  it('the same approval answered through /v1/approvals instead; the stream answer after it is refused', async () => {
    shared.mock.script(
      { kind: 'exec_command', cmd: 'echo v1 > via-v1.txt' },
      { kind: 'text', text: 'done via v1' },
    )
    const c = open()
    const sessionId = newSessionId()
    await c.send({ type: 'user_message', sessionId, content: 'write via v1' })
    const prompt = await c.next((f) => f.type === 'command_prompt')
    const session = await sessionOf(sessionId)
    const pending = (await (
      await fetch(`${shared.gw.url}/v1/approvals?state=pending&sessionId=${session.id}`)
    ).json()) as { approvals: Approval[] }
    expect(pending.approvals).toHaveLength(1)
    const answered = await postJson(`${shared.gw.url}/v1/approvals/${pending.approvals[0]!.id}`, {
      decision: 'accept',
    })
    expect(answered.status).toBe(200)
    await c.send({ type: 'approve', sessionId, commandId: prompt.commandId, decision: 'deny' })
    const refused = await c.next((f) => f.type === 'error')
    expect(refused).toMatchObject({ code: 'FRAME_PROCESSING_ERROR' })
    expect(refused.message).toMatch(/already answered/)
    await c.status_('Agent run completed.')
    expect(existsSync(path.join(session.cwd, 'via-v1.txt'))).toBe(true)
    c.end()
    await c.ended
  })

  it('an approval nobody answers: APPROVAL_TIMEOUT, counted as deny, the agent goes on', async () => {
    shared.mock.script(
      { kind: 'exec_command', cmd: 'echo late > late.txt' },
      { kind: 'text', text: 'gave up' },
    )
    const c = open()
    const sessionId = newSessionId()
    await c.send({ type: 'user_message', sessionId, content: 'wait for nobody' })
    const prompt = await c.next((f) => f.type === 'command_prompt')
    const timeout = await c.next((f) => f.type === 'error' && f.code === 'APPROVAL_TIMEOUT')
    expect(timeout.message).toContain(prompt.commandId as string)
    await c.status_('Agent run completed.')
    expect(existsSync(path.join((await sessionOf(sessionId)).cwd, 'late.txt'))).toBe(false)
    c.end()
    await c.ended
  })

  // Codex's interrupt leaves a command it moved to a background terminal running (seen under load); the
  // session cleans the thread's terminals before the turn is reported over, so this holds at once.
  it('cancel mid-run: "Agent run cancelled by client.", then aborted; the command process is gone', {
    timeout: 120_000,
  }, async () => {
    shared.mock.script({ kind: 'exec_command', cmd: 'sleep 37' }, { kind: 'text', text: 'never' })
    const c = open()
    const sessionId = newSessionId()
    await c.send({
      type: 'user_message',
      sessionId,
      content: 'sleep a while',
      configOverrides: { approvalPolicy: 'full-auto' },
    })
    await c.status_('Agent thinking...')
    const session = await sessionOf(sessionId)
    const sleeping = () => processesUnder(session.cwd).some((p) => p.cmd.includes('sleep 37'))
    await waitFor(sleeping)
    await c.send({ type: 'cancel', sessionId })
    await c.status_('Agent run cancelled by client.')
    await c.status_('Agent run successfully aborted.')
    await waitFor(
      () => !sleeping(),
      60_000,
      () => JSON.stringify(processesUnder(session.cwd)),
    )
    expect(c.texts()).toEqual([])
    c.end()
    await c.ended
  })

  it('a second user_message interrupts the first and runs', async () => {
    shared.mock.script(
      { kind: 'text', text: 'first never arrives', delayMs: 30_000 },
      { kind: 'text', text: 'second answer' },
    )
    const c = open()
    const sessionId = newSessionId()
    await c.send({ type: 'user_message', sessionId, content: 'first, slow' })
    await c.status_('Agent thinking...')
    await waitFor(() => shared.mock.requests.length > 0)
    await c.send({ type: 'user_message', sessionId, content: 'second, fast' })
    await c.status_('Agent run interrupted.')
    await c.status_('Agent run completed.')
    expect(c.texts()).toEqual(['second answer'])
    c.end()
    await c.ended
  })

  it('reconnecting with the same sessionId continues the thread: the model sees the earlier turn', async () => {
    const sessionId = newSessionId()
    shared.mock.script(
      { kind: 'text', text: 'first answer alpha' },
      { kind: 'text', text: 'second answer beta' },
    )
    const first = open()
    await first.send({ type: 'user_message', sessionId, content: 'first question one' })
    await first.status_('Agent run completed.')
    first.end()
    await first.ended
    const second = open('length-prefixed')
    await second.send({ type: 'user_message', sessionId, content: 'second question two' })
    await second.status_('Agent run completed.')
    expect(second.texts()).toEqual(['second answer beta'])
    const history = requestInput(shared.mock)
    for (const part of ['first question one', 'first answer alpha', 'second question two'])
      expect(history).toContain(part)
    second.end()
    await second.ended
  })

  it('a session made with POST /v1/sessions {externalId} is continued by a stream naming it: its turn lands in that session', async () => {
    const sessionId = newSessionId()
    shared.mock.script(
      { kind: 'text', text: 'http answer alpha' },
      { kind: 'text', text: 'stream answer beta' },
    )
    const res = await postJson(`${shared.gw.url}/v1/sessions`, {
      externalId: sessionId,
      sandbox: 'workspace-write',
      approvalPolicy: 'never',
    })
    expect(res.status).toBe(201)
    const made = (await res.json()) as Session
    expect(made.externalId).toBe(sessionId)
    const first = await postJson(`${shared.gw.url}/v1/sessions/${made.id}/turns?wait=true`, {
      input: 'http question one',
    })
    expect(first.status).toBe(200)
    const c = open()
    await c.send({ type: 'user_message', sessionId, content: 'stream question two' })
    await c.status_('Agent run completed.')
    expect(c.texts()).toEqual(['stream answer beta'])
    // the same session, its thread: the model saw the HTTP turn; no other session has the id
    for (const part of ['http question one', 'http answer alpha', 'stream question two'])
      expect(requestInput(shared.mock)).toContain(part)
    expect((await sessionOf(sessionId)).id).toBe(made.id)
    const read = (await (await fetch(`${shared.gw.url}/v1/sessions/${made.id}`)).json()) as Session & {
      turns: Turn[]
    }
    expect(read.turns.map((t) => [(t.input[0] as { text: string }).text, t.status, t.finalResponse])).toEqual(
      [
        ['http question one', 'completed', 'http answer alpha'],
        ['stream question two', 'completed', 'stream answer beta'],
      ],
    )
    expect(read).toMatchObject({ externalId: sessionId, turnCount: 2, approvalPolicy: 'never' })
    c.end()
    await c.ended
  })

  it('POST /v1/sessions: an externalId another session has is 409 naming it (no session made); an invalid one is 400', async () => {
    const sessionId = newSessionId()
    shared.mock.script({ kind: 'text', text: 'made by a stream' })
    const c = open()
    await c.send({ type: 'user_message', sessionId, content: 'hello' })
    await c.status_('Agent run completed.')
    c.end()
    await c.ended
    const owner = await sessionOf(sessionId)
    const threadsBefore = (await fetch(`${shared.gw.url}/v1/sessions?limit=100`).then((r) => r.json())) as {
      sessions: Session[]
    }
    const taken = await postJson(`${shared.gw.url}/v1/sessions`, { externalId: sessionId })
    expect(taken.status).toBe(409)
    const { error } = (await taken.json()) as { error: { code: string; message: string; details: unknown } }
    expect(error.code).toBe('conflict')
    expect(error.message).toBe(
      `externalId "${sessionId}" is taken by session ${owner.id}; choose another id, or continue that session`,
    )
    expect(error.details).toEqual({ externalId: sessionId, sessionId: owner.id })
    const threadsAfter = (await fetch(`${shared.gw.url}/v1/sessions?limit=100`).then((r) => r.json())) as {
      sessions: Session[]
    }
    expect(threadsAfter.sessions.length).toBe(threadsBefore.sessions.length)
    for (const externalId of ['', 'x'.repeat(201), 'nul\u0000inside', 'line\nbreak', 42, null]) {
      const bad = await postJson(`${shared.gw.url}/v1/sessions`, { externalId })
      expect(bad.status).toBe(400)
      const body = (await bad.json()) as { error: { code: string; message: string } }
      expect(body.error.code).toBe('invalid_request')
      expect(body.error.message).toContain('externalId')
    }
    // two creators at once: one session, the other 409 (by the check before, or the store's unique index after)
    const racing = `${sessionId}-race`
    const both = await Promise.all(
      [0, 1].map(() => postJson(`${shared.gw.url}/v1/sessions`, { externalId: racing })),
    )
    expect(both.map((r) => r.status).sort()).toEqual([201, 409])
    // the longest allowed is taken as is
    const longest = `${sessionId}-`.padEnd(200, 'y')
    const ok = await postJson(`${shared.gw.url}/v1/sessions`, { externalId: longest })
    expect(ok.status).toBe(201)
    expect(((await ok.json()) as Session).externalId).toBe(longest)
  })

  it('a stream that loses the creation race to POST /v1/sessions {externalId} joins the session it made', async () => {
    const sessionId = newSessionId()
    const made = (await (
      await postJson(`${shared.gw.url}/v1/sessions`, { externalId: sessionId })
    ).json()) as Session
    // the stream's two lookups (its tenant's, then the whole store's) ran just before that session was stored
    const lookup = vi
      .spyOn(SqliteStore.prototype, 'findSessionByExternalId')
      .mockResolvedValueOnce(undefined)
      .mockResolvedValueOnce(undefined)
    try {
      shared.mock.script({ kind: 'text', text: 'joined after all' })
      const c = open()
      await c.send({ type: 'user_message', sessionId, content: 'late creator' })
      await c.status_('Agent run completed.')
      expect(c.texts()).toEqual(['joined after all'])
      expect(c.frames.some((f) => f.type === 'error')).toBe(false)
      c.end()
      await c.ended
    } finally {
      lookup.mockRestore()
    }
    const read = (await (await fetch(`${shared.gw.url}/v1/sessions/${made.id}`)).json()) as Session & {
      turns: Turn[]
    }
    expect(read.turns.map((t) => (t.input[0] as { text: string }).text)).toEqual(['late creator'])
  })

  it('a stream that leaves while another follows the session does not end the running turn', async () => {
    const sessionId = newSessionId()
    // the second answer is held until the first stream has left: the turn certainly still runs when it does
    const two = held({ kind: 'text', text: 'two, after a while' })
    shared.mock.script({ kind: 'text', text: 'one' }, two.step)
    const first = open()
    await first.send({ type: 'user_message', sessionId, content: 'first' })
    await first.status_('Agent run completed.')
    const second = open()
    await second.send({ type: 'user_message', sessionId, content: 'second' })
    await second.status_('Agent thinking...')
    await two.asked
    first.end()
    await first.ended
    two.release()
    await second.status_('Agent run completed.')
    expect(second.texts()).toEqual(['two, after a while'])
    expect(second.frames.some((f) => f.type === 'status' && f.message === 'Agent run interrupted.')).toBe(
      false,
    )
    second.end()
    await second.ended
  })

  it('over HTTP/1.1 with a chunked request body: the same frames, then terminate when the client ends', async () => {
    shared.mock.script({ kind: 'text', text: 'over http/1.1' })
    const req = http.request(`${shared.gw.url}/agent/stream`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/x-ndjson', 'transfer-encoding': 'chunked' },
    })
    const frames: Frame[] = []
    let wake = () => {}
    const until = async (check: () => boolean) => {
      while (!check()) await new Promise<void>((r) => (wake = r))
    }
    const responded = new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve))
    req.write(encode('ndjson', { type: 'user_message', sessionId: newSessionId(), content: 'plain http' }))
    const res = await responded
    expect(res.httpVersion).toBe('1.1')
    expect(res.headers['content-type']).toContain('application/x-ndjson')
    let buffered = ''
    const ended = new Promise<void>((resolve) => res.on('end', resolve))
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => {
      buffered += chunk
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        frames.push(JSON.parse(buffered.slice(0, nl)) as Frame)
        buffered = buffered.slice(nl + 1)
      }
      wake()
    })
    res.on('end', () => wake())
    await until(() => frames.some((f) => f.type === 'status' && f.message === 'Agent run completed.'))
    const texts = frames
      .filter((f) => f.type === 'item')
      .map((f) => JSON.stringify(f.responseItem))
      .join('')
    expect(texts).toContain('over http/1.1')
    req.end()
    await ended
    expect(frames.at(-1)).toMatchObject({ type: 'terminate' })
  })

  it('a reader that stops reading holds only its own stream: others on the connection go on, it loses nothing', async () => {
    // Far beyond HTTP/2's 64 KiB stream window: the server's write waits for the reader (no queue behind it).
    const big = 'x'.repeat(600_000)
    shared.mock.script({ kind: 'text', text: big }, { kind: 'text', text: 'fast' })
    const slow = open()
    slow.pause()
    await slow.send({ type: 'user_message', sessionId: newSessionId(), content: 'a large answer' })
    await waitFor(() => shared.mock.requests.length === 1)
    const fast = open()
    await fast.send({ type: 'user_message', sessionId: newSessionId(), content: 'a small one' })
    await fast.status_('Agent run completed.')
    expect(fast.texts()).toEqual(['fast'])
    expect(slow.frames.some((f) => f.type === 'item')).toBe(false)
    slow.resume()
    await slow.status_('Agent run completed.')
    expect(slow.texts()).toEqual([big])
    for (const c of [slow, fast]) {
      c.end()
      await c.ended
    }
  })

  it('SESSION_ID_REQUIRED ends the stream; SESSION_NOT_INIT and SESSION_ID_MISMATCH do not', async () => {
    const a = open()
    await a.send({ type: 'user_message', content: 'no id' })
    await a.ended
    expect(a.frames).toEqual([
      expect.objectContaining({
        type: 'error',
        code: 'SESSION_ID_REQUIRED',
        message: 'Session ID must be provided by the backend service in the first user_message frame.',
      }),
    ])
    // an empty id is none, as the original's `!userMessage.sessionId` said (not a FRAME_DECODING_ERROR)
    const empty = open()
    await empty.send({ type: 'user_message', sessionId: '', content: 'empty id' })
    await empty.ended
    expect(empty.frames).toEqual([expect.objectContaining({ type: 'error', code: 'SESSION_ID_REQUIRED' })])
    shared.mock.script({ kind: 'text', text: 'fine' })
    const b = open()
    const sessionId = newSessionId()
    await b.send({ type: 'approve', sessionId, commandId: 'x', decision: 'allow' })
    await b.next((f) => f.code === 'SESSION_NOT_INIT')
    await b.send({ type: 'user_message', sessionId, content: 'hello' })
    await b.status_('Agent run completed.')
    await b.send({ type: 'approve', sessionId: 'someone-else', commandId: 'x', decision: 'allow' })
    await b.send({ type: 'cancel', sessionId: 'someone-else' })
    const approveMismatch = await b.next((f) => f.message === 'Session ID mismatch in approve frame.')
    const cancelMismatch = await b.next((f) => f.message === 'Session ID mismatch in cancel frame.')
    expect([approveMismatch.code, cancelMismatch.code]).toEqual([
      'SESSION_ID_MISMATCH',
      'SESSION_ID_MISMATCH',
    ])
    b.end()
    await b.ended
  })

  it('decode errors end only their own stream; another method and another path are 404s', async () => {
    // the survivor's answer is held until every other stream has failed: its turn certainly runs meanwhile
    const answer = held({ kind: 'text', text: 'survivor' })
    shared.mock.script(answer.step)
    const survivor = open()
    const sessionId = newSessionId()
    await survivor.send({ type: 'user_message', sessionId, content: 'keep going' })
    await answer.asked
    const cases: [AgentStreamClient, Buffer, RegExp][] = [
      [open(), Buffer.from('{not json\n'), /^Frame decoding error: /],
      [open(), encode('ndjson', { type: 'explode', sessionId }), /unknown frame type "explode"/],
      [open(), encode('ndjson', { type: 'approve', sessionId }), /commandId/],
    ]
    const huge = open('length-prefixed')
    const prefix = Buffer.alloc(4)
    prefix.writeUInt32BE(50 * 1024 * 1024)
    cases.push([huge, prefix, /exceeds the limit/])
    for (const [client, bytes, message] of cases) {
      await client.writeRaw(bytes)
      await client.ended
      expect(client.frames).toEqual([
        expect.objectContaining({ type: 'error', message: expect.stringMatching(message) }),
      ])
      expect(client.frames[0]!.message).toMatch(/^Frame decoding error: /)
    }
    // a good frame before a bad one in the same chunk is handled first (it was dropped), as the original read them
    for (const framing of ['ndjson', 'length-prefixed'] as const) {
      const both = open(framing)
      const bad = framing === 'ndjson' ? Buffer.from('{not json\n') : encode(framing, '{not json')
      await both.writeRaw(Buffer.concat([encode(framing, { type: 'cancel', sessionId }), bad]))
      await both.ended
      expect(both.frames.map((f) => f.code)).toEqual(['SESSION_NOT_INIT', 'FRAME_DECODING_ERROR'])
    }
    answer.release()
    await survivor.status_('Agent run completed.')
    expect(survivor.texts()).toEqual(['survivor'])
    survivor.end()
    await survivor.ended
    // any other method: a 404 as the original's, its body an error frame (route-family-errors.test.ts has more)
    const get = await h2request(shared.h2, 'GET', '/agent/stream')
    expect([get.status, get.headers.allow, JSON.parse(get.body).code]).toEqual([404, undefined, 'NOT_FOUND'])
    expect((await h2request(shared.h2, 'POST', '/agent/other', {})).status).toBe(404)
  })

  it("a last frame cut short at the client's end (curl --data-binary): its frames, the error, terminate, then END_STREAM", async () => {
    // the gateway's HTTP/2 frames as they go on the wire: curl dropped frames it had received (an empty body, exit 0)
    // from a response that a RST_STREAM ended before its END_STREAM
    const wire = await startH2FrameLog(shared.gw.url)
    const h2 = h2connect(wire.url)
    const answers = [held({ kind: 'text', text: 'never sent' }), held({ kind: 'text', text: 'never sent' })]
    shared.mock.script(...answers.map((a) => a.step))
    const sessionId = newSessionId()
    try {
      for (const framing of ['ndjson', 'length-prefixed'] as const) {
        const c = new AgentStreamClient(h2, framing)
        // as curl sends it: the whole body in one DATA frame with END_STREAM, its last frame unfinished (an
        // unterminated line that is no JSON; a length prefix with fewer bytes after it)
        const message = encode(framing, { type: 'user_message', sessionId, content: 'hi' })
        const cut = encode(framing, { type: 'cancel', sessionId }).subarray(0, 20)
        c.end(Buffer.concat([message, cut]))
        await c.ended
        expect(c.frames[0]).toMatchObject({ type: 'status', message: `Session ${sessionId} initialized.` })
        expect(c.frames.slice(-2)).toEqual([
          expect.objectContaining({ type: 'error', code: 'FRAME_DECODING_ERROR' }),
          { id: expect.stringMatching(uuid), type: 'terminate', reason: 'Stream ended from server side.' },
        ])
        expect(c.frames.at(-2)!.message).toMatch(
          framing === 'ndjson'
            ? /^Frame decoding error: .*JSON/
            : /^Frame decoding error: stream ended inside a frame/,
        )
        // the response ended with END_STREAM; the client had ended its side: no reset
        const frames = wire.of(c.streamId!)
        expect(frames.at(-1)).toMatchObject({ type: 'DATA', endStream: true })
        expect(frames.filter((f) => f.type === 'RST_STREAM')).toEqual([])
        // the stream's turn ended with it (interrupted): nothing runs on
        const session = await sessionOf(sessionId)
        const { turns } = (await (await fetch(`${shared.gw.url}/v1/sessions/${session.id}`)).json()) as {
          turns: Turn[]
        }
        expect(turns).toHaveLength(framing === 'ndjson' ? 1 : 2)
        const turn = await finishedTurnAt(shared.gw.url, session.id, turns.at(-1)!.id)
        expect(turn.status).toBe('interrupted')
      }
      // a client still sending when the stream ends (a bad frame): END_STREAM, then RST_STREAM NO_ERROR (stop sending)
      const sending = new AgentStreamClient(h2, 'ndjson')
      await sending.writeRaw(Buffer.from('{not json\n'))
      await sending.ended
      expect(sending.frames.map((f) => f.code)).toEqual(['FRAME_DECODING_ERROR'])
      const frames = wire.of(sending.streamId!)
      expect(frames.slice(-2)).toEqual([
        expect.objectContaining({ type: 'DATA', endStream: true }),
        expect.objectContaining({ type: 'RST_STREAM', code: 0 }),
      ])
    } finally {
      for (const a of answers) a.release()
      h2.close()
      await wire.close()
    }
  })
})

async function waitFor(check: () => boolean, timeoutMs = 60_000, explain = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met in time ${explain()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
