import { createServer } from 'node:net'
import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { runStreamClient, streamClientOptions } from '../../src/http/compat/agent-stream-demo-client.js'

/** `agent-gateway stream`'s server and token, read from the environment a newcomer has set for the server. */
describe('agent-gateway stream options', () => {
  it("sends the secret of API_TOKENS' first entry, not the whole `name:token:scopes` entry", () => {
    expect(streamClientOptions(['s1'], { API_TOKENS: 'dash:abc123:read+run, ci:other:run' }).token).toBe(
      'abc123',
    )
    expect(streamClientOptions(['s1'], { API_TOKENS: 'bare-token,second' }).token).toBe('bare-token')
    expect(streamClientOptions(['s1'], { API_TOKENS: 'x:y:z', AGENT_GATEWAY_TOKEN: 'given' }).token).toBe(
      'given',
    )
    expect(streamClientOptions(['s1'], {}).token).toBeUndefined()
  })

  it('talks to the port the server was given when no URL is set', () => {
    expect(streamClientOptions([], { PORT: '9123' }).url).toBe('http://127.0.0.1:9123')
    expect(streamClientOptions([], {}).url).toBe('http://127.0.0.1:8000')
    expect(streamClientOptions([], { PORT: '9123', AGENT_GATEWAY_URL: 'http://127.0.0.1:7000' }).url).toBe(
      'http://127.0.0.1:7000',
    )
    expect(
      streamClientOptions(['s1', 'hello', 'there'], { CODEX_API_URL: 'http://127.0.0.1:7001' }),
    ).toMatchObject({
      url: 'http://127.0.0.1:7001',
      sessionId: 's1',
      prompt: 'hello there',
    })
  })

  it('a gateway that is not running: one line saying where it looked and what to do, exit code 1', async () => {
    // a loopback port nothing listens on any more
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const { port } = probe.address() as { port: number }
    await new Promise((resolve) => probe.close(resolve))
    const output = new PassThrough()
    let printed = ''
    output.on('data', (d: Buffer) => (printed += d))
    const url = `http://127.0.0.1:${port}`
    const code = await runStreamClient({
      url,
      sessionId: 's1',
      prompt: 'hi',
      input: new PassThrough(),
      output,
    })
    expect(code).toBe(1)
    expect(printed.trim().split('\n')).toEqual([
      `session s1 on ${url}; type a message, /cancel, /quit or /exit`,
      `cannot reach the gateway at ${url} (connect ECONNREFUSED 127.0.0.1:${port}): start it (npm start), or point AGENT_GATEWAY_URL at it`,
    ])
  })
})
