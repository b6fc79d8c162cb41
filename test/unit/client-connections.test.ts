import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { ClientConnections } from '../../src/http/client-connections.js'

/** What ClientConnections reads of a socket: its remote address and its close. */
function socketFrom(remoteAddress: string | undefined): Socket & { close(): void } {
  const s = Object.assign(new EventEmitter(), { remoteAddress }) as unknown as Socket & { close(): void }
  s.close = () => s.emit('close')
  return s
}

describe('ClientConnections', () => {
  it('counts per address up to the cap and frees a slot on close', () => {
    const c = new ClientConnections(2, [])
    const [a, b, d] = [socketFrom('10.0.0.1'), socketFrom('10.0.0.1'), socketFrom('10.0.0.1')]
    expect([c.admit(a), c.admit(b), c.admit(d)]).toEqual([true, true, false])
    expect(c.admit(socketFrom('10.0.0.2'))).toBe(true)
    a.close()
    expect(c.admit(socketFrom('10.0.0.1'))).toBe(true)
  })

  it('forgets a client once it holds nothing', () => {
    const c = new ClientConnections(1, [])
    const s = socketFrom('10.0.0.1')
    c.admit(s)
    expect(c.clients).toBe(1)
    s.close()
    expect(c.clients).toBe(0)
  })

  it('takes an IPv4-mapped IPv6 address (a dual-stack listener) for its IPv4 client', () => {
    const c = new ClientConnections(1, [])
    expect(c.admit(socketFrom('::ffff:10.0.0.1'))).toBe(true)
    expect(c.admit(socketFrom('10.0.0.1'))).toBe(false)
  })

  it('takes an IPv6 client as its /64', () => {
    const c = new ClientConnections(1, [])
    expect(c.admit(socketFrom('2001:db8:1:2::1'))).toBe(true)
    expect(c.admit(socketFrom('2001:db8:1:2:ffff::9'))).toBe(false)
    expect(c.admit(socketFrom('2001:db8:1:3::1'))).toBe(true)
  })

  it('does not count exempt addresses and ranges (loopback, a proxy), mapped ones included', () => {
    const c = new ClientConnections(1, ['127.0.0.0/8', '::1', '10.9.9.9'])
    for (const address of [
      '127.0.0.1',
      '127.0.0.1',
      '::1',
      '::1',
      '::ffff:127.0.0.5',
      '10.9.9.9',
      '10.9.9.9',
    ])
      expect(c.admit(socketFrom(address)), address).toBe(true)
    expect(c.clients).toBe(0)
  })

  it('admits a socket without an address (closed before it was seen) without counting it', () => {
    const c = new ClientConnections(1, [])
    expect(c.admit(socketFrom(undefined))).toBe(true)
    expect(c.clients).toBe(0)
  })
})
