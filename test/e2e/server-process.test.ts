import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayEnv, postJson, readNdjson } from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'
import { type ServerProcess, startServerProcess } from '../support/server-process.js'

function assertStarted(s: Awaited<ReturnType<typeof startServerProcess>>): ServerProcess {
  if (!('url' in s)) throw new Error(`server exited (${s.exitCode}):\n${s.output.join('\n')}`)
  return s
}

/** The server as users run it: a real OS process on a free port, spoken to over real sockets. */
describe('agent-gateway serve (real process)', () => {
  let mock: MockLlm
  beforeAll(async () => {
    mock = await startMockLlm()
  })
  afterAll(async () => {
    await mock.close()
  })

  it('answers /health, /hello and /run, and stops cleanly on SIGTERM', async () => {
    const { env, dir, workspace } = gatewayEnv(mock)
    const server = assertStarted(await startServerProcess(env, dir))
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const health = (await (await fetch(`${server.url}/health`)).json()) as { status: string }
      expect(health.status).toBe('healthy')
      mock.script({ kind: 'text', text: 'Hi from a real process' })
      expect(await (await fetch(`${server.url}/hello`)).text()).toBe('Hi from a real process')
      mock.script({ kind: 'text', text: 'streamed' })
      const frames = await readNdjson(
        await postJson(`${server.url}/run`, {
          cli: 'codex',
          args: ['exec', '--json', '--skip-git-repo-check', 'x'],
        }),
      )
      expect(frames.at(-1)).toEqual({ type: 'exit', code: 0 })
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0)
    }
    expect(await waitUntilGone(() => processesUnder(workspace))).toEqual([])
  })

  it('SIGTERM during a run ends the run and its codex process group after the grace period', async () => {
    // The run's own `codex exec` process group (a warm run has none; its cancel is in codex-warm-runs.test.ts).
    const { env, dir, workspace } = gatewayEnv(mock, {
      SHUTDOWN_GRACE_SECONDS: '1',
      CODEX_WARM_RUNS: 'false',
    })
    const server = assertStarted(await startServerProcess(env, dir))
    mock.script({ kind: 'text', text: 'never', delayMs: 30_000 })
    const pending = fetch(`${server.url}/hello`).catch(() => null)
    const deadline = Date.now() + 30_000
    while (processesUnder(workspace).length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 25))
    expect(processesUnder(workspace).length).toBeGreaterThan(0)
    await server.stop('SIGTERM')
    await pending
    expect(await waitUntilGone(() => processesUnder(workspace))).toEqual([])
  })

  it('refuses to start on a non-loopback HOST without API_TOKENS', async () => {
    const { env, dir } = gatewayEnv(mock, { HOST: '0.0.0.0' })
    const result = await startServerProcess(env, dir)
    expect('url' in result).toBe(false)
    if ('url' in result) await result.stop()
    else {
      expect(result.exitCode).not.toBe(0)
      expect(result.output.join('\n')).toMatch(/API_TOKENS/)
    }
  })

  it('on a non-loopback HOST with API_TOKENS, a request without a token gets 401', async () => {
    const { env, dir } = gatewayEnv(mock, { HOST: '0.0.0.0', API_TOKENS: 'tok-one,tok-two' })
    const server = assertStarted(await startServerProcess(env, dir))
    try {
      const url = server.url.replace('0.0.0.0', '127.0.0.1')
      expect((await fetch(`${url}/clis`)).status).toBe(401)
      expect((await fetch(`${url}/clis`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401)
      const ok = await fetch(`${url}/clis`, { headers: { authorization: 'Bearer tok-two' } })
      expect(ok.status).toBe(200)
      expect(server.output.join('\n')).not.toContain('tok-two')
    } finally {
      await server.stop()
    }
  })
})
