import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { RpcPeer } from '../../src/agents/codex-app-server/rpc.js'
import {
  RpcClosedError,
  RpcOverlongAnswerError,
  RpcResponseError,
  RpcTimeoutError,
} from '../../src/agents/codex-app-server/rpc-errors.js'
import { readLines } from '../../src/process/lines.js'

/** Our peer wired to a fake on the other end: `sent` yields what we wrote, `reply` writes lines to us. */
function connect(
  options: {
    onInputEnd?: () => void
    maxLineChars?: number
    maxAnswerChars?: number
    largeAnswers?: ReadonlySet<string>
  } = {},
) {
  const toFake = new PassThrough()
  const fromFake = new PassThrough()
  const unknown: { line: string; reason: string }[] = []
  const peer = new RpcPeer({
    input: fromFake,
    output: toFake,
    name: 'fake',
    onUnknown: (line, reason) => unknown.push({ line, reason }),
    ...options,
  })
  const lines = readLines(toFake)
  const sent = async () => JSON.parse((await lines.next()).value as string) as Record<string, unknown>
  const reply = (message: unknown) =>
    fromFake.write(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`)
  return { peer, sent, reply, unknown, fromFake, toFake }
}

const tick = () => new Promise((r) => setTimeout(r, 10))

describe('RpcPeer requests', () => {
  it('sends one JSON line without "jsonrpc" and resolves with the result, in any order', async () => {
    const { peer, sent, reply } = connect()
    const a = peer.request('thread/start', { cwd: '/w' }, 1000)
    const b = peer.request('model/list', undefined, 1000)
    const first = await sent()
    const second = await sent()
    expect(first).toEqual({ id: 1, method: 'thread/start', params: { cwd: '/w' } })
    expect(second).toEqual({ id: 2, method: 'model/list' })
    reply({ id: 2, result: { data: [] } })
    reply({ jsonrpc: '2.0', id: 1, result: { thread: { id: 't1' } } })
    await expect(a).resolves.toEqual({ thread: { id: 't1' } })
    await expect(b).resolves.toEqual({ data: [] })
  })

  it('rejects with the code, message and data of an error response', async () => {
    const { peer, sent, reply } = connect()
    const pending = peer.request('thread/start', {}, 1000)
    await sent()
    reply({ id: 1, error: { code: -32600, message: 'Not initialized', data: { x: 1 } } })
    const err = await pending.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RpcResponseError)
    expect(err).toMatchObject({
      method: 'thread/start',
      code: -32600,
      rpcMessage: 'Not initialized',
      data: { x: 1 },
    })
    expect((err as Error).message).toBe('fake: thread/start failed (-32600): Not initialized')
  })

  it('rejects on timeout and reports the late answer as unknown', async () => {
    const { peer, sent, reply, unknown } = connect()
    const pending = peer.request('turn/start', {}, 30)
    await sent()
    await expect(pending).rejects.toThrow(RpcTimeoutError)
    await expect(pending).rejects.toThrow('fake: turn/start got no response within 30 ms')
    reply({ id: 1, result: {} })
    await tick()
    expect(unknown.map((u) => u.reason)).toEqual(['a response to no pending request'])
  })

  it('rejects pending and later requests when the input ends', async () => {
    const { peer, sent, fromFake } = connect()
    const pending = peer.request('turn/start', {}, 0)
    await sent()
    fromFake.end()
    await expect(pending).rejects.toThrow(new RpcClosedError('fake closed the connection'))
    await expect(peer.request('thread/read', {}, 1000)).rejects.toThrow(RpcClosedError)
    expect(() => peer.notify('initialized')).toThrow(RpcClosedError)
  })

  it('close(error) rejects everything pending with that error; onInputEnd replaces the default close', async () => {
    let ended = false
    const { peer, sent, fromFake } = connect({ onInputEnd: () => (ended = true) })
    const pending = peer.request('turn/start', {}, 0)
    await sent()
    fromFake.end()
    await tick()
    expect(ended).toBe(true)
    expect(peer.closedError).toBeUndefined()
    const reason = new RpcClosedError('the process died (SIGKILL)')
    peer.close(reason)
    await expect(pending).rejects.toBe(reason)
    expect(peer.closedError).toBe(reason)
  })

  it('rejects params that cannot be serialized without sending anything', async () => {
    const { peer, toFake } = connect()
    await expect(peer.request('x', { n: 1n }, 1000)).rejects.toThrow(TypeError)
    expect(toFake.readableLength).toBe(0)
  })
})

describe('RpcPeer notifications', () => {
  it('sends notifications without an id', async () => {
    const { peer, sent } = connect()
    peer.notify('initialized')
    peer.notify('x/y', { a: 1 })
    expect(await sent()).toEqual({ method: 'initialized' })
    expect(await sent()).toEqual({ method: 'x/y', params: { a: 1 } })
  })

  it('delivers notifications to every handler until it unsubscribes; a throwing handler is reported', async () => {
    const { peer, reply, unknown } = connect()
    const seen: string[] = []
    const off = peer.onNotification((method, params) => seen.push(`${method} ${JSON.stringify(params)}`))
    peer.onNotification(() => {
      throw new Error('boom')
    })
    reply({ method: 'turn/started', params: { turn: { id: 'u1' } } })
    await tick()
    off()
    reply({ method: 'turn/completed', params: {} })
    await tick()
    expect(seen).toEqual(['turn/started {"turn":{"id":"u1"}}'])
    expect(unknown.map((u) => u.reason)).toEqual([
      'notification handler failed: boom',
      'notification handler failed: boom',
    ])
  })
})

describe('RpcPeer server requests', () => {
  it('answers with the handler result, sync or async', async () => {
    const { peer, sent, reply } = connect()
    peer.onRequest(async (method, params, id) => {
      await tick()
      return { decision: 'accept', method, params, id }
    })
    reply({ id: 0, method: 'item/commandExecution/requestApproval', params: { itemId: 'c1' } })
    expect(await sent()).toEqual({
      id: 0,
      result: {
        decision: 'accept',
        method: 'item/commandExecution/requestApproval',
        params: { itemId: 'c1' },
        id: 0,
      },
    })
    peer.onRequest(() => undefined)
    reply({ id: 'r2', method: 'x' })
    expect(await sent()).toEqual({ id: 'r2', result: null })
  })

  it('answers a thrown error as a JSON-RPC error, and "method not found" without a handler', async () => {
    const { peer, sent, reply } = connect()
    reply({ id: 1, method: 'item/fileChange/requestApproval', params: {} })
    expect(await sent()).toEqual({
      id: 1,
      error: { code: -32601, message: 'no handler for item/fileChange/requestApproval' },
    })
    peer.onRequest(() => {
      throw new Error('nobody is there to approve')
    })
    reply({ id: 2, method: 'item/fileChange/requestApproval', params: {} })
    expect(await sent()).toEqual({ id: 2, error: { code: -32603, message: 'nobody is there to approve' } })
  })
})

describe('RpcPeer input safety', () => {
  it('reports malformed lines and keeps working', async () => {
    const { peer, sent, reply, unknown, fromFake } = connect()
    const pending = peer.request('thread/start', {}, 1000)
    await sent()
    reply('not json')
    reply('[1,2]')
    reply('null')
    reply({ id: { nested: true }, method: 'x' })
    reply({ method: 42 })
    reply({ id: 7, error: 'flat string' })
    reply({ id: null, error: { code: -32700, message: 'Parse error' } })
    reply({ something: 'else' })
    reply('')
    // a message split across chunks is still one line
    fromFake.write('{"id":1,"res')
    fromFake.write('ult":{"ok":true}}\n')
    await expect(pending).resolves.toEqual({ ok: true })
    expect(unknown.map((u) => u.reason)).toEqual([
      'not JSON',
      'not a JSON object',
      'not a JSON object',
      expect.stringContaining('malformed request'),
      expect.stringContaining('malformed notification'),
      expect.stringContaining('malformed error response'),
      'a response to no pending request',
      'neither a request, a notification nor a response',
    ])
    expect(unknown[0]?.line).toBe('not json')
  })
})

describe('RpcPeer answers longer than a line', () => {
  const limits = { maxLineChars: 100, maxAnswerChars: 400, largeAnswers: new Set(['thread/read']) }
  const padded = (id: number, chars: number) => {
    const line = JSON.stringify({ id, result: { text: '' } })
    return JSON.stringify({ id, result: { text: 'x'.repeat(chars - line.length) } })
  }

  it('reads an answer of a large-answer method up to maxAnswerChars, any other line up to maxLineChars', async () => {
    const { peer, sent, reply, unknown } = connect(limits)
    const read = peer.request('thread/read', {}, 5000)
    await sent()
    reply(padded(1, 400))
    await expect(read).resolves.toEqual({ text: expect.stringMatching(/^x+$/) })
    // another method's answer that long fails its request at once, saying so (no wait for its timeout)
    const other = peer.request('model/list', {}, 60_000)
    await sent()
    reply(padded(2, 101))
    const err = await other.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RpcOverlongAnswerError)
    expect(err).toMatchObject({ method: 'model/list', limit: 100 })
    // a notification that long is dropped as before; the peer goes on
    reply(JSON.stringify({ method: 'item/completed', params: { text: 'y'.repeat(150) } }))
    await tick()
    // both were cut at maxLineChars: the peer never held more of them (the old reader held them whole, up to
    // maxAnswerChars, before it dropped them)
    expect(unknown.map((u) => [u.line.length, u.reason])).toEqual([
      [100, 'a piece of a line longer than 100 characters'],
      [1, 'a piece of a line longer than 100 characters'],
      [100, 'a piece of a line longer than 100 characters'],
      [98, 'a piece of a line longer than 100 characters'],
    ])
    const next = peer.request('model/list', {}, 5000)
    await sent()
    reply({ id: 3, result: { data: [] } })
    await expect(next).resolves.toEqual({ data: [] })
  })

  it('fails a request whose answer is longer than maxAnswerChars at once, and reads the next line whole', async () => {
    const { peer, sent, reply, unknown } = connect(limits)
    const read = peer.request('thread/read', {}, 60_000)
    await sent()
    reply(padded(1, 1000))
    const err = await read.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RpcOverlongAnswerError)
    expect((err as Error).message).toMatch(/answered thread\/read with more than 400 characters on one line/)
    const next = peer.request('thread/read', {}, 5000)
    await sent()
    reply(padded(2, 399))
    await expect(next).resolves.toMatchObject({ text: expect.any(String) })
    // the long line's three pieces were reported, nothing else
    expect(unknown).toHaveLength(3)
  })

  it('reads a line past maxLineChars only while its head answers a pending large-answer request', async () => {
    const { peer, sent, reply, unknown, fromFake } = connect(limits)
    const read = peer.request('thread/read', {}, 60_000)
    await sent()
    // while thread/read waits: a notification, an answer to nobody, and one to thread/read's id with another
    // method's key first are cut at maxLineChars, each in pieces of at most 100 characters
    reply(JSON.stringify({ method: 'thread/started', params: { text: 'y'.repeat(350) } }))
    reply(padded(7, 350))
    reply(JSON.stringify({ method: 'x', id: 1, result: { text: 'z'.repeat(350) } }))
    // the answer, written in pieces (as a pipe gives it), is read whole
    const answer = padded(1, 390)
    for (let i = 0; i < answer.length; i += 60) fromFake.write(answer.slice(i, i + 60))
    fromFake.write('\n')
    await expect(read).resolves.toEqual({ text: expect.stringMatching(/^x+$/) })
    expect(unknown.length).toBeGreaterThanOrEqual(12)
    expect(Math.max(...unknown.map((u) => u.line.length))).toBe(100)
    // once it is answered, its id no longer opens a long line
    reply(padded(1, 300))
    await tick()
    expect(unknown.at(-1)).toMatchObject({ reason: 'a piece of a line longer than 100 characters' })
    expect(Math.max(...unknown.map((u) => u.line.length))).toBe(100)
  })
})
