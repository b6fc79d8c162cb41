import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayEnv, mockAgentSettings, succeededRun } from '../support/gateway.js'
import { type ServerProcess, startServerProcess } from '../support/server-process.js'

/**
 * The gateway's own `/proc/<pid>/environ`: the block its process started with, readable by every process of the
 * same user. A codex command in danger-full-access (or any command that is not OS-confined) read it and found every key and API_TOKENS the
 * server was started with. Now the secrets' values are gone from that block, and the agents still work (the key
 * proxy swaps in the real key). Keys are random per run: other gateways on this machine use the suite's fixed ones.
 */
const fresh = (name: string) => `${name}-${randomBytes(12).toString('hex')}`
const apiToken = fresh('gw-api-token')
const codexKey = fresh('codex-secret-key')
const anthropicKey = fresh('anthropic-secret-key')
const dsnPassword = fresh('dsn-password')
const secrets = [apiToken, codexKey, anthropicKey, dsnPassword]
const auth = { authorization: `Bearer ${apiToken}` }

function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.flatMap(stringsIn)
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsIn)
  return []
}

describe("the gateway process's environ holds no secret", () => {
  let mock: MockLlm
  let server: ServerProcess
  beforeAll(async () => {
    mock = await startMockLlm()
    const { env, dir } = gatewayEnv(mock, {
      API_TOKENS: apiToken,
      CODEX_API_KEY: codexKey,
      ...mockAgentSettings(mock, {
        anthropic: anthropicKey,
        gemini: fresh('gemini'),
        copilot: fresh('copilot'),
      }),
      // a URL-valued variable with a password (a DATABASE_URL's shape, without making this a PostgreSQL gateway)
      ALLOW_DANGER_FULL_ACCESS: 'true',
      BACKUP_DSN: `postgres://backup:${dsnPassword}@127.0.0.1:9/none`,
    })
    const started = await startServerProcess(env, dir)
    if (!('url' in started)) throw new Error(started.output.join('\n'))
    server = started
  })
  afterAll(async () => {
    await server?.stop()
    await mock?.close()
  })

  it('a codex command outside its sandbox reads /proc/<gateway>/environ: PATH, no secret; codex and claude still reach the model with the real keys', async () => {
    const probe = `tr "\\0" "\\n" < /proc/${server.child.pid}/environ | grep -E "^(PATH|API_TOKENS|CODEX_API_KEY|ANTHROPIC_API_KEY|BACKUP_DSN)=" | sort; echo probed-environ`
    mock.reset()
    mock.setDefault({ kind: 'text', text: 'done' })
    mock.script({ kind: 'exec_command', cmd: probe, yieldTimeMs: 10_000 }, { kind: 'text', text: 'probed' })
    await succeededRun(server.url, { agent: 'codex', prompt: 'run it', sandbox: 'danger-full-access' }, auth)
    const seen = mock.requests
      .flatMap((r) => stringsIn(r.body))
      .filter((s) => s.includes('probed-environ'))
      .join('\n')
    // the command ran, read the gateway's block, and its output reached the model
    expect(seen).toMatch(/^PATH=/m)
    for (const secret of secrets) expect(seen).not.toContain(secret)
    // the names are still there, their values are not
    expect(seen).toMatch(/^CODEX_API_KEY=$/m)
    expect(
      mock.requests.filter((r) => !r.side).every((r) => r.headers.authorization === `Bearer ${codexKey}`),
    ).toBe(true)

    mock.reset()
    mock.setDefault({ kind: 'text', text: 'claude answered' })
    const claude = await succeededRun(server.url, { agent: 'claude', prompt: 'say something' }, auth)
    expect(claude.run.finalResponse).toBe('claude answered')
    expect(mock.requests.filter((r) => !r.side).every((r) => r.headers['x-api-key'] === anthropicKey)).toBe(
      true,
    )
  }, 120_000)
})
