import { describe, expect, it } from 'vitest'
import { startLine } from '../../src/cli/start-line.js'

describe('the start line', () => {
  it('says the URL and the docs; on a loopback address nothing more', () => {
    const url = 'http://127.0.0.1:8000'
    expect(startLine({ url, addresses: [url] })).toEqual({
      fields: { url, docs: `${url}/docs`, openapi: `${url}/openapi.json` },
      msg: `agent-gateway listening on ${url} (docs: ${url}/docs)`,
    })
  })

  it('on a wildcard address adds where it can be reached (what Fastify listed, one line each)', () => {
    const url = 'https://0.0.0.0:8443'
    const addresses = ['https://127.0.0.1:8443', 'https://10.1.2.3:8443']
    expect(startLine({ url, addresses })).toEqual({
      fields: { url, docs: `${url}/docs`, openapi: `${url}/openapi.json`, addresses },
      msg: `agent-gateway listening on ${url} (docs: ${url}/docs; reachable at https://127.0.0.1:8443, https://10.1.2.3:8443)`,
    })
  })
})
