import { describe, expect, it } from 'vitest'
import {
  egressProxyFor,
  egressSettings,
  egressSupported,
  proxyAuthorization,
} from '../../src/process/key-proxy/egress.js'

/** Which of the key proxy's upstream calls go through the server's egress proxy, read as curl reads the env. */
describe('egress settings', () => {
  it('reads the proxy variables (lower case first, ALL_PROXY for both schemes), none without them', () => {
    expect(egressSettings({ PATH: '/bin' })).toBeUndefined()
    expect(
      egressSettings({ HTTPS_PROXY: 'http://a:1', http_proxy: 'http://b:2', HTTP_PROXY: 'http://c:3' }),
    ).toEqual({
      httpProxy: 'http://b:2',
      httpsProxy: 'http://a:1',
    })
    expect(egressSettings({ ALL_PROXY: 'http://all:3128', NO_PROXY: 'x' })).toEqual({
      httpProxy: 'http://all:3128',
      httpsProxy: 'http://all:3128',
      noProxy: 'x',
    })
    expect(egressSupported({ httpsProxy: 'http://p:1' })).toBe(true)
    expect(egressSupported({ httpsProxy: 'socks5://p:1' })).toBe(false)
    expect(egressSupported({ httpProxy: 'https://p:1' })).toBe(false)
  })

  it('chooses by scheme and leaves out what NO_PROXY names (host, parent domain, port, *)', () => {
    const settings = {
      httpProxy: 'http://p:1',
      httpsProxy: 'http://user:p%40ss@s:2',
      noProxy: 'internal.example, .corp.example,api.local:8443',
    }
    const via = (url: string) => egressProxyFor(new URL(url), settings)?.host
    expect(via('https://api.openai.com/v1')).toBe('s:2')
    expect(via('http://127.0.0.1:9/v1')).toBe('p:1')
    expect(via('https://internal.example/v1')).toBeUndefined()
    expect(via('https://llm.internal.example/v1')).toBeUndefined()
    expect(via('https://corp.example/v1')).toBeUndefined()
    expect(via('https://x.corp.example/v1')).toBeUndefined()
    expect(via('https://notinternal.example/v1')).toBe('s:2')
    expect(via('https://api.local:8443/v1')).toBeUndefined()
    expect(via('https://api.local/v1')).toBe('s:2')
    expect(egressProxyFor(new URL('https://a.example'), { ...settings, noProxy: '*' })).toBeUndefined()
    expect(egressProxyFor(new URL('https://a.example'), { httpProxy: 'http://p:1' })).toBeUndefined()
    const proxy = egressProxyFor(new URL('https://a.example'), settings)
    expect(proxy && proxyAuthorization(proxy)).toEqual({
      'proxy-authorization': `Basic ${Buffer.from('user:p@ss').toString('base64')}`,
    })
  })
})
