import { describe, expect, it } from 'vitest'
import { editDistance, nearestWord } from '../../src/util/nearest-word.js'

describe('nearestWord', () => {
  const runFields = ['prompt', 'model', 'sandbox', 'cwd', 'images', 'image', 'limits', 'agent', 'timeoutMs']

  it('finds the field a typo meant: a dropped, swapped or changed letter, or another case', () => {
    expect(nearestWord('promt', runFields)).toBe('prompt')
    expect(nearestWord('sandbx', runFields)).toBe('sandbox')
    expect(nearestWord('modle', runFields)).toBe('model')
    expect(nearestWord('timeoutms', runFields)).toBe('timeoutMs')
    expect(nearestWord('imagess', runFields)).toBe('images')
  })

  it('suggests nothing for a word that is not close to any', () => {
    expect(nearestWord('temperature', runFields)).toBeUndefined()
    expect(nearestWord('x', runFields)).toBeUndefined()
  })

  it('counts insertions, deletions and substitutions', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3)
    expect(editDistance('', 'abc')).toBe(3)
    expect(editDistance('same', 'same')).toBe(0)
    expect(editDistance('modle', 'model')).toBe(1)
  })
})
