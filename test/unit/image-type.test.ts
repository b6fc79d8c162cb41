import { describe, expect, it } from 'vitest'
import { checkImageUrl } from '../../src/core/image-checks.js'
import { copyName } from '../../src/core/staged-images.js'
import { base64Bytes, defaultMaxImageBytes, sniffImage } from '../../src/util/image-type.js'
import { dataUrlOf, onePixelPng } from '../support/png.js'

/** What an image is by its first bytes, and what the gateway makes of that (the real end to end: v1-sessions). */
describe('image types', () => {
  const png = sniffImage(onePixelPng)!

  it('PNG, JPEG, GIF and WebP by their first bytes; anything else (text, SVG, a short head) is none', () => {
    expect(png).toEqual({ mimeType: 'image/png', extension: '.png' })
    expect(sniffImage(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))?.extension).toBe('.jpg')
    expect(sniffImage(Buffer.from('GIF89a'))?.extension).toBe('.gif')
    expect(sniffImage(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))?.extension).toBe('.webp')
    for (const head of ['plain text', '<svg/>', 'RIFF', '', '\x89PNG'])
      expect(sniffImage(Buffer.from(head, 'latin1')), head).toBeNull()
  })

  it("a copy is named by its type: the image's name without its extension, no comma", () => {
    expect(copyName(0, '/w/shot.jpg', png)).toBe('0-shot.png')
    expect(copyName(1, '/w/dot.dat', png)).toBe('1-dot.png')
    expect(copyName(2, '/w/d,ot.png', png)).toBe('2-d_ot.png')
    expect(copyName(3, '/w/noext', png)).toBe('3-noext.png')
    expect(copyName(4, '/w/.hidden', png)).toBe('4-.hidden.png')
  })

  it('a data: URL is checked by its bytes and their size, whatever it declares', () => {
    expect(
      checkImageUrl(
        dataUrlOf(onePixelPng).replace('image/png', 'image/jpeg'),
        'input[0]',
        defaultMaxImageBytes,
      ),
    ).toEqual(png)
    expect(() => checkImageUrl('data:image/png;base64,aGVsbG8=', 'input[2]', defaultMaxImageBytes)).toThrow(
      'input[2]: image "data:image/png;base64,aGVsbG8=" is not a PNG, JPEG, GIF or WebP image',
    )
    expect(() => checkImageUrl('data:image/png,%E0%A4%A', 'input[0]', defaultMaxImageBytes)).toThrow(
      'is not a well-formed data: URL',
    )
    const big = `data:image/png;base64,${Buffer.concat([onePixelPng, Buffer.alloc(defaultMaxImageBytes)]).toString('base64')}`
    expect(() => checkImageUrl(big, 'input[1]', defaultMaxImageBytes)).toThrow(
      `input[1]: image "${big.slice(0, 60)}..." is ${onePixelPng.length + defaultMaxImageBytes} bytes, more than the 5242880 (5 MiB)`,
    )
    // the limit is the caller's (MAX_IMAGE_BYTES): the same image under a smaller one, and exactly at it
    const url = dataUrlOf(onePixelPng)
    expect(() => checkImageUrl(url, 'input[3]', onePixelPng.length - 1)).toThrow(
      `input[3]: image "${url.slice(0, 60)}..." is ${onePixelPng.length} bytes, more than the ${onePixelPng.length - 1} (${onePixelPng.length - 1} bytes) an image may have (MAX_IMAGE_BYTES)`,
    )
    expect(checkImageUrl(url, 'input[3]', onePixelPng.length)).toEqual(png)
    expect(base64Bytes('aGVsbG8=')).toBe(5)
    expect(base64Bytes('aGVs\nbG8h')).toBe(6)
  })
})
