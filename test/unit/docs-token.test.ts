import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { swaggerRequestInterceptor } from '../../src/http/docs-token.js'

/** The interceptor as Swagger UI's page gets it: its source, serialized, with nothing of this module around it. */
const inPage = new Function(
  `return (${swaggerRequestInterceptor.toString()})`,
)() as typeof swaggerRequestInterceptor

const saved = { getItem: (key: string) => (key === 'agent-gateway.token' ? 'tok-7d1c9e2a' : null) }
const sent = (url: string) => inPage({ url, headers: {} }).headers.Authorization

describe("Swagger UI's request interceptor", () => {
  // the page's globals: the token saved by the console, the docs page's address
  beforeEach(() => {
    vi.stubGlobal('localStorage', saved)
    vi.stubGlobal('location', {
      href: 'http://127.0.0.1:8787/docs/static/index.html',
      origin: 'http://127.0.0.1:8787',
    })
  })
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it("adds the saved token to the gateway's own requests, relative or absolute", () => {
    expect(sent('/v1/runs')).toBe('Bearer tok-7d1c9e2a')
    expect(sent('http://127.0.0.1:8787/docs/json')).toBe('Bearer tok-7d1c9e2a')
  })

  it('sends it nowhere else: another host, port or scheme', () => {
    expect(sent('https://example.com/openapi.json')).toBeUndefined()
    expect(sent('http://127.0.0.1:9999/v1/runs')).toBeUndefined()
    expect(sent('https://127.0.0.1:8787/v1/runs')).toBeUndefined()
    expect(sent('//example.com/v1/runs')).toBeUndefined()
  })

  it('keeps an Authorization the request has, and adds nothing without a saved token', () => {
    expect(
      inPage({ url: '/v1/runs', headers: { Authorization: 'Bearer other' } }).headers.Authorization,
    ).toBe('Bearer other')
    vi.stubGlobal('localStorage', { getItem: () => null })
    expect(inPage({ url: '/v1/runs', headers: {} }).headers.Authorization).toBeUndefined()
  })
})
