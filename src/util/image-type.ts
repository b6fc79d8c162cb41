import { agentLineChars, agentLineEnvelopeChars } from './agent-line.js'

/**
 * What an image is, from its first bytes: the one answer every agent's images go by (the gateway's checks when a
 * turn or run is sent, core/image-checks.ts; the name of its private copy, core/staged-images.ts; the MIME type of
 * an ACP image block, agents/acp/prompt-blocks.ts). The agents' own answers differ and fail late or silently (codex
 * 0.171 sends the model "image content omitted because it could not be processed" for a file that is none, copilot
 * 1.0.102 drops an attachment named `.png` that is none, and refuses a PNG named `.dat`: it goes by the extension).
 */

/** An image type the gateway passes on: its MIME type and the extension its private copy gets. */
export interface ImageType {
  mimeType: 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp'
  extension: '.png' | '.jpg' | '.gif' | '.webp'
}

/** How many first bytes sniffImage reads. */
export const imageHeadBytes = 12

/**
 * The largest image (its bytes, decoded) a turn or run may give, file or data: URL, unless MAX_IMAGE_BYTES says
 * otherwise: 5 MiB, the smallest per-image bound of the model APIs the agents reach (Anthropic's, 5 MB an image).
 */
export const defaultMaxImageBytes = 5 * 1024 * 1024

/**
 * The most MAX_IMAGE_BYTES may be: an image's base64 (4 chars for each 3 bytes) and its message's envelope within
 * the line the gateway reads of an agent (agentLineChars, 8 MiB): codex app-server echoes a data: URL image in its
 * `userMessage` item, and an ACP agent replaying its history (session/load) writes an image block back (the ACP
 * SDK reads 32 MiB lines: the tighter bound is the gateway's own). 6,242,304 bytes, about 5.95 MiB.
 */
export const maxImageBytesCeiling = Math.floor((agentLineChars - agentLineEnvelopeChars) / 4) * 3

/** What sniffImage knows, as a message names it. */
export const imageKinds = 'a PNG, JPEG, GIF or WebP image'

const types: readonly [ImageType, (b: Uint8Array) => boolean][] = [
  [
    { mimeType: 'image/png', extension: '.png' },
    (b) => [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((byte, i) => b[i] === byte),
  ],
  [{ mimeType: 'image/jpeg', extension: '.jpg' }, (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff],
  [{ mimeType: 'image/gif', extension: '.gif' }, (b) => latin1(b, 0, 4) === 'GIF8'],
  [
    { mimeType: 'image/webp', extension: '.webp' },
    (b) => latin1(b, 0, 4) === 'RIFF' && latin1(b, 8, 12) === 'WEBP',
  ],
]

const latin1 = (b: Uint8Array, start: number, end: number) =>
  Buffer.from(b.subarray(start, end)).toString('latin1')

/** The image type an image's first bytes (imageHeadBytes of them) say; null when they say none of the four. */
export function sniffImage(head: Uint8Array): ImageType | null {
  return types.find(([, matches]) => matches(head))?.[0] ?? null
}

/**
 * A data: URL's declared MIME type and its bytes as base64 (a URL not in base64 is percent-decoded, then encoded).
 * Throws a URIError for a body whose percent-encoding is malformed.
 */
export function dataUrlParts(url: string): { mimeType: string; data: string } {
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

/** How many bytes base64 `data` decodes to (its padding and any whitespace not counted). */
export function base64Bytes(data: string): number {
  const chars = data.replace(/[\s=]/g, '').length
  return Math.floor((chars * 3) / 4)
}
