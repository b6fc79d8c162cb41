import Fastify from 'fastify'
import { afterEach, expect, it } from 'vitest'
import { registerConsole } from '../../src/http/console.js'
import { removeDir, tempDir } from '../support/temp.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d)
})

it('a server started without the console built says how to build it, and that it needs a restart', async () => {
  const empty = tempDir('no-console-')
  dirs.push(empty)
  const app = Fastify()
  await registerConsole(app, empty)
  const res = await app.inject({ method: 'GET', url: '/' })
  await app.close()
  expect(res.statusCode).toBe(503)
  // `npm start` runs plain node: it builds nothing, so the page must not send anyone to it
  expect(res.body).toBe(
    'The web console is not built: run `npm run build:web` (`npm ci` does it), then restart the server.\n',
  )
})
