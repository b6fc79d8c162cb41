import { readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeIfChanged } from '../../src/util/write-if-changed.js'
import { tempDir } from '../support/temp.js'

describe('writeIfChanged', () => {
  it('writes a new file with its mode, leaves one that holds the text alone, replaces one that differs', () => {
    const file = path.join(tempDir('write-if-changed-'), 'sub', 'prog')
    writeIfChanged(file, 'one\n', 0o755)
    expect(readFileSync(file, 'utf8')).toBe('one\n')
    expect(statSync(file).mode & 0o777).toBe(0o755)
    const first = statSync(file).ino
    writeIfChanged(file, 'one\n', 0o755)
    expect(statSync(file).ino).toBe(first)
    writeFileSync(file, 'changed by hand\n')
    writeIfChanged(file, 'one\n', 0o755)
    expect(readFileSync(file, 'utf8')).toBe('one\n')
    // renamed over it: a reader holding the old file keeps the old content
    expect(statSync(file).ino).not.toBe(first)
  })
})
