import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { errorHandler } from '../../src/http/errors.js'

describe('an unplanned 500', () => {
  it('says what to do and names the request id the server log has the cause under', async () => {
    const app = Fastify({ logger: false })
    app.setErrorHandler(errorHandler)
    app.get('/boom', { config: { errorShape: 'v1' } }, async () => {
      throw new Error('a bug')
    })
    const res = await app.inject('/boom')
    expect(res.statusCode).toBe(500)
    const { error } = res.json() as {
      error: { code: string; message: string; details: { requestId: string } }
    }
    expect(error.code).toBe('internal')
    expect(error.message).toMatch(/retry, and if it persists report it with this request id/)
    expect(error.message).toContain(error.details.requestId)
    expect(error.message).not.toContain('a bug')
    await app.close()
  })
})
