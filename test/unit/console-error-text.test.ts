import { describe, expect, it } from 'vitest'
import { ApiError } from '../../src/client/index.js'
import { sseFrames } from '../../src/client/sse-connection.js'
import { errorText } from '../../web/src/error-text.js'

describe('console: how an error reads', () => {
  it("the gateway's JSON error by its message; a body that is not JSON by its start, on one line", () => {
    const json = { error: { code: 'invalid_request', message: 'cwd is outside the workspace roots' } }
    expect(errorText(new ApiError(400, json))).toBe('400: cwd is outside the workspace roots')
    expect(errorText(new ApiError(500, 'database\n  is on fire\n'))).toBe('500: database is on fire')
    const long = errorText(new ApiError(502, `<h1>Bad Gateway</h1> ${'y'.repeat(500)}`))
    expect(long).toBe(`502: <h1>Bad Gateway</h1> ${'y'.repeat(200 - '<h1>Bad Gateway</h1> '.length)}…`)
    expect(errorText(new ApiError(500, ''))).toBe('500: HTTP 500')
    expect(errorText(new ApiError(500, null))).toBe('500: HTTP 500')
  })

  it('an event stream refused with a body that is not JSON keeps its text', async () => {
    const fetchText = async () => new Response('stream store unavailable', { status: 500 })
    const err = await sseFrames('http://127.0.0.1:1/x', { headers: {}, fetch: fetchText })
      .next()
      .catch((e: unknown) => e)
    expect(errorText(err)).toBe('500: stream store unavailable')
  })
})
