import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { ContentBlock, InitializeResponse } from '@agentclientprotocol/sdk'
import type { TurnInput } from '../session.js'

/**
 * A turn's input as ACP's `session/prompt` takes it: text blocks, and each image as an image block
 * (`{type: 'image', data: <base64>, mimeType}`), which an agent takes when its `initialize` answer has
 * `promptCapabilities.image`. A `localImage` is the core's private copy (core/turn-images.ts), read here; an `image`
 * is a data:image/ URL (checked by the core), its bytes passed on. The gateway reads the file itself, so an agent in a
 * container gets the image as well.
 */

/** The image types sniffed from a file's first bytes; an extension decides when they say nothing. */
const signatures: readonly [mimeType: string, matches: (head: Buffer) => boolean][] = [
  [
    'image/png',
    (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  ],
  ['image/jpeg', (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff],
  ['image/gif', (b) => b.subarray(0, 4).toString('latin1') === 'GIF8'],
  [
    'image/webp',
    (b) => b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP',
  ],
]

const byExtension: Readonly<Record<string, string>> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
}

/** An image file's MIME type: from its content (PNG, JPEG, GIF, WebP), else its extension; else null. */
export function imageMimeType(bytes: Buffer, file: string): string | null {
  return (
    signatures.find(([, matches]) => matches(bytes))?.[0] ??
    byExtension[path.extname(file).toLowerCase()] ??
    null
  )
}

/** A data:image/ URL's MIME type and base64 data (a URL not in base64 is percent-decoded, then encoded). */
export function dataUrlImage(url: string): { mimeType: string; data: string } {
  const comma = url.indexOf(',')
  const meta = url.slice('data:'.length, comma < 0 ? url.length : comma)
  const body = comma < 0 ? '' : url.slice(comma + 1)
  const [mimeType = '', ...params] = meta.split(';')
  const base64 = params.some((p) => p.toLowerCase() === 'base64')
  return {
    mimeType: mimeType.toLowerCase(),
    data: base64 ? body : Buffer.from(decodeURIComponent(body), 'latin1').toString('base64'),
  }
}

/** The prompt's blocks when its input is text alone (sent without waiting), else null. */
export function textBlocks(input: TurnInput): ContentBlock[] | null {
  const blocks: ContentBlock[] = []
  for (const part of input) {
    if (part.type !== 'text') return null
    blocks.push({ type: 'text', text: part.text })
  }
  return blocks
}

/**
 * The prompt's blocks. Rejects (an Error, the turn's failure) a turn with images for an agent whose `initialize`
 * answer lacks `promptCapabilities.image` (a preset's command replaced by ACP_AGENTS with one that does not), and a
 * `localImage` that is not a PNG, JPEG, GIF or WebP image.
 */
export async function promptBlocks(
  input: TurnInput,
  init: Pick<InitializeResponse, 'agentCapabilities'>,
  agent: string,
): Promise<ContentBlock[]> {
  const hasImages = input.some((part) => part.type !== 'text')
  if (hasImages && !init.agentCapabilities?.promptCapabilities?.image)
    throw new Error(`${agent} does not take images: its initialize answer has no promptCapabilities.image`)
  const blocks: ContentBlock[] = []
  for (const part of input) {
    if (part.type === 'text') blocks.push({ type: 'text', text: part.text })
    else if (part.type === 'image') blocks.push({ type: 'image', ...dataUrlImage(part.url) })
    else {
      const bytes = await readFile(part.path)
      const mimeType = imageMimeType(bytes, part.path)
      if (!mimeType)
        throw new Error(
          `image "${path.basename(part.path).replace(/^\d+-/, '')}" is not a PNG, JPEG, GIF or WebP image`,
        )
      blocks.push({ type: 'image', data: bytes.toString('base64'), mimeType })
    }
  }
  return blocks
}
