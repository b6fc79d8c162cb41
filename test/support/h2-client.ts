import { execFileSync } from 'node:child_process'
import http2 from 'node:http2'
import path from 'node:path'
import { tempDir } from './temp.js'

/** A self-signed certificate for 127.0.0.1/localhost, made with the openssl CLI in a temp directory. */
export function selfSignedCert(): { certPath: string; keyPath: string } {
  const dir = tempDir('tls-')
  const certPath = path.join(dir, 'cert.pem')
  const keyPath = path.join(dir, 'key.pem')
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  )
  return { certPath, keyPath }
}

export interface H2Response {
  status: number
  headers: http2.IncomingHttpHeaders
  body: string
}

/** One HTTP/2 connection (h2c with prior knowledge for http://, ALPN h2 for https://). */
export function h2connect(url: string, ca?: Buffer): http2.ClientHttp2Session {
  const session = http2.connect(url, ca ? { ca } : {})
  session.on('error', () => {})
  return session
}

/** A whole request/response on an open session. */
export function h2request(
  session: http2.ClientHttp2Session,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const req = session.request({
      ':method': method,
      ':path': path,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    })
    let status = 0
    let responseHeaders: http2.IncomingHttpHeaders = {}
    let text = ''
    req.setEncoding('utf8')
    req.on('response', (h) => {
      status = Number(h[':status'])
      responseHeaders = h
    })
    req.on('data', (d: string) => {
      text += d
    })
    req.on('end', () => resolve({ status, headers: responseHeaders, body: text }))
    req.on('error', reject)
    req.end(body === undefined ? undefined : JSON.stringify(body))
  })
}
