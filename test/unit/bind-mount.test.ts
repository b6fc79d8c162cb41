import { describe, expect, it } from 'vitest'
import { bindMount, unmountableCharacter } from '../../src/process/container/bind-mount.js'

describe('bind mounts', () => {
  it('binds a directory at its own path with --mount fields, read-only unless writable', () => {
    expect(bindMount('/w/a:b=c', false)).toBe('type=bind,source=/w/a:b=c,target=/w/a:b=c,readonly')
    expect(bindMount('/w/a:b', true)).toBe('type=bind,source=/w/a:b,target=/w/a:b')
  })

  it('never emits a path holding a field or record separator or a CSV quote', () => {
    for (const [dir, named] of [
      ['/w/x,source=/etc', '","'],
      ['/w/x"y', `'"'`],
      ['/w/x\ny', 'a line break'],
      ['/w/x\ry', 'a carriage return'],
    ] as const) {
      expect(unmountableCharacter(dir)).toBe(named)
      expect(() => bindMount(dir, false)).toThrow(`holds ${named}`)
    }
    expect(unmountableCharacter('/w/a:b=c d\u2028é')).toBeUndefined()
  })
})
