import { describe, expect, it } from 'vitest'
import { externalRef } from '../../src/core/schema-refs.js'

describe('externalRef: the first reference of a JSON Schema that points outside it', () => {
  it('takes references within the schema: #, a JSON pointer, an anchor', () => {
    expect(
      externalRef({
        $ref: '#',
        properties: { a: { $ref: '#/$defs/a' }, b: { $dynamicRef: '#node' } },
        $defs: { a: { type: 'string' } },
      }),
    ).toBeUndefined()
    // an `$id` the schema declares, nested or at its root, with or without a fragment
    expect(
      externalRef({
        $id: 'urn:root',
        properties: {
          a: { $id: 'urn:nested', type: 'string' },
          b: { $ref: 'urn:nested' },
          c: { $ref: 'urn:root#/x' },
        },
      }),
    ).toBeUndefined()
  })

  it('finds a file, a relative path, a URL, anywhere (lists included), naming where', () => {
    expect(externalRef({ $ref: 'file:///etc/passwd' })).toEqual({ path: '.$ref', ref: 'file:///etc/passwd' })
    expect(externalRef({ properties: { a: { items: [{}, { $ref: '../secret.json' }] } } })).toEqual({
      path: '.properties.a.items[1].$ref',
      ref: '../secret.json',
    })
    expect(externalRef({ allOf: [{ $recursiveRef: 'https://example.test/s' }] })?.path).toBe(
      '.allOf[0].$recursiveRef',
    )
    // `other.json#/x` has a fragment, but not of this schema; an `$id` that is data declares nothing
    expect(externalRef({ $ref: 'other.json#/x' })?.ref).toBe('other.json#/x')
    expect(externalRef({ const: { $id: 'urn:x' }, $ref: 'urn:x' })?.ref).toBe('urn:x')
  })

  it('looks not into data (const, enum, default, examples), and a property named $ref is a schema', () => {
    const data = { $ref: 'https://example.test/s' }
    expect(externalRef({ const: data, enum: [data], default: data, examples: [data] })).toBeUndefined()
    expect(externalRef({ properties: { $ref: { type: 'string' } } })).toBeUndefined()
    expect(externalRef({ properties: { $ref: { $ref: 'x.json' } } })?.path).toBe('.properties.$ref.$ref')
  })
})
