import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { recordFrameworkFolders } from '../../src/http/framework-folders.js'

describe('recordFrameworkFolders', () => {
  it("a FastAPI seed's folder is its own only while no other route lives in it; the root is nobody's", async () => {
    const app = Fastify()
    const folder = recordFrameworkFolders(app)
    const fastapi = { config: { framework: 'fastapi' as const } }
    app.post('/api/own/start', fastapi, async () => '')
    app.post('/api/own/deep/write', fastapi, async () => '')
    app.post('/api/shared/start', fastapi, async () => '')
    app.get('/api/shared/status', async () => '') // a route of the gateway's own in the same folder
    app.get('/mixed/*', async () => '') // a wildcard (the console's folders, /docs/*) claims its whole folder
    app.post('/mixed/run', fastapi, async () => '')
    app.get('/hello', fastapi, async () => '')
    await app.ready()
    const answers = Object.fromEntries(
      [
        '/api/own',
        '/api/own/nothing',
        '/api/own/deep/nothing',
        '/api/owner',
        '/api/shared/nothing',
        '/api/nothing',
        '/mixed/nothing',
        '/nothing',
      ].map((p) => [p, folder(p) ?? null]),
    )
    expect(answers).toEqual({
      '/api/own': 'fastapi',
      '/api/own/nothing': 'fastapi',
      '/api/own/deep/nothing': 'fastapi',
      '/api/owner': null,
      '/api/shared/nothing': null,
      '/api/nothing': null,
      '/mixed/nothing': null,
      '/nothing': null,
    })
    await app.close()
  })
})
