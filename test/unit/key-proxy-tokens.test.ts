import { describe, expect, it } from 'vitest'
import { newToken, RecentDigests, tokenDigest } from '../../src/process/key-proxy/tokens.js'

/** The proxy's thread remembers the digests of live tokens it was shown (key-proxy-thread.ts): never other ones. */
describe('RecentDigests', () => {
  it("gives each token's digest, remembered or not", () => {
    const recent = new RecentDigests()
    const [a, b] = [newToken(), newToken()]
    expect(recent.of(a)).toBe(tokenDigest(a))
    recent.remember(a, tokenDigest(a))
    expect(recent.of(a)).toBe(tokenDigest(a))
    expect(recent.of(b)).toBe(tokenDigest(b))
  })

  it('keeps at most its bound, and only what it was told to remember', () => {
    const recent = new RecentDigests(2)
    const tokens = [newToken(), newToken(), newToken()]
    // a remembered entry is found by the token: a wrong digest told shows it came from memory
    recent.remember(tokens[0] as string, 'first')
    recent.remember(tokens[1] as string, 'second')
    expect([recent.of(tokens[0] as string), recent.of(tokens[1] as string)]).toEqual(['first', 'second'])
    // full: the third drops the others
    recent.remember(tokens[2] as string, 'third')
    expect(recent.of(tokens[0] as string)).toBe(tokenDigest(tokens[0] as string))
    expect(recent.of(tokens[2] as string)).toBe('third')
  })
})
