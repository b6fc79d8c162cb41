import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { ContentBlock, InitializeResponse } from '@agentclientprotocol/sdk'
import { dataUrlParts, imageKinds, sniffImage } from '../../util/image-type.js'
import type { TurnInput } from '../session.js'

/**
 * A turn's input as ACP's `session/prompt` takes it: text blocks, and each image as an image block
 * (`{type: 'image', data: <base64>, mimeType}`), which an agent takes when its `initialize` answer has
 * `promptCapabilities.image`. A `localImage` is the core's private copy (core/turn-images.ts), read here; an `image`
 * is a data:image/ URL, its bytes passed on. The core checked both when the turn or run was sent (an image by its
 * first bytes, of at most MAX_IMAGE_BYTES: core/image-checks.ts), and the copy as it made it; the MIME type is the one the
 * first bytes say (util/image-type.ts). The gateway reads the file itself, so an agent in a
 * container gets the image as well.
 */

/** A data:image/ URL's MIME type (the one its first bytes say, else the one it declares) and base64 data. */
export function dataUrlImage(url: string): { mimeType: string; data: string } {
  const { mimeType, data } = dataUrlParts(url)
  return { mimeType: sniffImage(Buffer.from(data.slice(0, 24), 'base64'))?.mimeType ?? mimeType, data }
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
 * `localImage` that is not a PNG, JPEG, GIF or WebP image by its first bytes (the core refused one already).
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
      const type = sniffImage(bytes)
      if (!type)
        throw new Error(`image "${path.basename(part.path).replace(/^\d+-/, '')}" is not ${imageKinds}`)
      blocks.push({ type: 'image', data: bytes.toString('base64'), mimeType: type.mimeType })
    }
  }
  return blocks
}
