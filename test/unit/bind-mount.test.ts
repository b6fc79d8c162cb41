import { describe, expect, it } from 'vitest'
import { bindMount, mountSyntax, unmountableCharacter } from '../../src/process/container/bind-mount.js'

describe('bind mounts', () => {
  it('binds a directory at a target with --mount fields, read-only unless writable', () => {
    for (const syntax of ['plain', 'quoted'] as const) {
      expect(bindMount('/w/a:b=c', '/w/a:b=c', false, syntax)).toBe(
        'type=bind,source=/w/a:b=c,target=/w/a:b=c,readonly',
      )
      expect(bindMount('/w/a:b', '/run/x', true, syntax)).toBe('type=bind,source=/w/a:b,target=/run/x')
    }
  })

  it('podman reads the value as a CSV record: a field holding a separator or a quote is quoted', () => {
    expect(mountSyntax('podman')).toBe('quoted')
    expect(mountSyntax('/usr/local/bin/podman-remote')).toBe('quoted')
    expect(mountSyntax('docker')).toBe('plain')
    expect(bindMount('/d,x/"q"\nl', '/run/i', false, 'quoted')).toBe(
      'type=bind,"source=/d,x/""q""\nl",target=/run/i,readonly',
    )
    // Go's CSV reader drops a carriage return before a line break, even quoted: that path is refused
    expect(unmountableCharacter('/w/x\r\ny', 'quoted')).toBe('a carriage return before a line break')
    expect(() => bindMount('/w/x\r\ny', '/run/i', false, 'quoted')).toThrow('podman')
    expect(unmountableCharacter('/w/x\ry,"\n', 'quoted')).toBeUndefined()
  })

  it('any other engine never gets a path holding a field or record separator or a CSV quote', () => {
    for (const [dir, named] of [
      ['/w/x,source=/etc', '","'],
      ['/w/x"y', `'"'`],
      ['/w/x\ny', 'a line break'],
      ['/w/x\ry', 'a carriage return'],
    ] as const) {
      expect(unmountableCharacter(dir, 'plain')).toBe(named)
      expect(() => bindMount(dir, '/run/i', false, 'plain')).toThrow(`holds ${named}`)
      expect(() => bindMount('/w', dir, false, 'plain')).toThrow(`holds ${named}`)
    }
    expect(unmountableCharacter('/w/a:b=c d\u2028é', 'plain')).toBeUndefined()
  })
})
