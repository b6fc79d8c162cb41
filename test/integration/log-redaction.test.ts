import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loggableUrl } from '../../src/http/logging.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayModules, startGateway, type TestGateway, testApiKey } from '../support/gateway.js'

gatewayModules()

/** Issue 9 item 8: nothing secret is logged, whatever the client does. The real log stream is captured. */
describe('logs carry no secret', () => {
  const apiToken = 'gw-log-token-4e8f1a2b3c'
  // a named entry (`<name>:<token>:<scopes>`): its token is the secret, not the whole entry
  const namedToken = 'gw-named-token-9c0d7e6f5a'
  const clientSecret = 'client-made-up-secret-77'
  const lines: string[] = []
  let mock: MockLlm
  let gw: TestGateway
  beforeAll(async () => {
    mock = await startMockLlm()
    gw = await startGateway(
      mock,
      { API_TOKENS: `${apiToken},dash:${namedToken}:read`, LOG_LEVEL: 'trace' },
      { logSink: { write: (line) => void lines.push(line) } },
    )
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
  })

  it('tokens in query strings, headers and paths never reach the log', async () => {
    const auth = { authorization: `Bearer ${apiToken}` }
    const urls = [
      `/health?token=${apiToken}`,
      `/v1/sessions?access_token=${apiToken}&api_key=${testApiKey}`,
      `/v1/runs?limit=1&apikey=${clientSecret}&x=${clientSecret}`,
      `/v1/runs/${apiToken}`,
      `/no/such/route?secret=${clientSecret}#frag`,
    ]
    for (const url of urls) await (await fetch(`${gw.url}${url}`, { headers: auth })).text()
    const named = { authorization: `Bearer ${namedToken}` }
    for (const url of [`/v1/runs/${namedToken}`, `/${namedToken}`])
      await (await fetch(`${gw.url}${url}`, { headers: named })).text()
    // unauthenticated, with the token in the query instead of the header, and a wrong bearer token
    await (await fetch(`${gw.url}/v1/runs?token=${apiToken}`)).text()
    await (
      await fetch(`${gw.url}/v1/runs`, {
        headers: {
          authorization: `Bearer ${clientSecret}`,
          cookie: `session=${clientSecret}`,
          'x-api-key': clientSecret,
        },
      })
    ).text()
    const log = lines.join('')
    expect(log).toContain('incoming request')
    expect(log).toContain('/health?token=[REDACTED]')
    expect(log).toContain('"statusCode":401')
    expect(log).toContain('/v1/runs/[REDACTED]')
    for (const secret of [apiToken, namedToken, testApiKey, clientSecret]) expect(log).not.toContain(secret)
  })

  it('loggableUrl keeps the path and the parameter names only', () => {
    expect(loggableUrl('/a/b')).toBe('/a/b')
    expect(loggableUrl('/a?token=x&after=3&flag')).toBe(
      '/a?token=[REDACTED]&after=[REDACTED]&flag=[REDACTED]',
    )
    expect(loggableUrl('/a?')).toBe('/a?')
  })
})
