import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs'
import { AppError } from '../protocol/errors.js'
import {
  base64Bytes,
  dataUrlParts,
  type ImageType,
  imageHeadBytes,
  imageKinds,
  sniffImage,
} from '../util/image-type.js'

/**
 * A turn's or run's images checked when it is sent (a 400 naming the item, before anything is stored or runs): each
 * must be a PNG, JPEG, GIF or WebP image by its first bytes (util/image-type.ts), of at most MAX_IMAGE_BYTES. Without
 * this an agent failed late or silently: codex 0.171 (exec and app-server) sends the model "image content omitted
 * because it could not be processed" and the turn succeeds; copilot 1.0.102 drops a non-image named `.png` and
 * fails the run on a real PNG named otherwise ("--attachment file type not supported"); an ACP agent's turn
 * failed as its prompt was built. The copies made as a turn or run starts are checked again (staged-images.ts).
 */

/** What an open image file is: its type by its first bytes (null: none of the four) and its size. */
export function imageOfDescriptor(fd: number): { type: ImageType | null; size: number; regular: boolean } {
  const info = fstatSync(fd)
  if (!info.isFile()) return { type: null, size: info.size, regular: false }
  const head = Buffer.alloc(imageHeadBytes)
  const read = readSync(fd, head, 0, imageHeadBytes, 0)
  return { type: sniffImage(head.subarray(0, read)), size: info.size, regular: true }
}

/** `item: ` when the request's item is known (`input[1]`, `images[0]`); a copy's check knows none. */
const prefix = (item: string | undefined) => (item ? `${item}: ` : '')

const notAnImage = (item: string | undefined, image: string) =>
  new AppError(
    'invalid_request',
    `${prefix(item)}image "${image}" is not ${imageKinds} (its first bytes are none of those): no agent takes it`,
    { ...(item ? { item } : {}), image },
  )

/** `5 MiB`, `1.5 MiB`, `300 KiB`, `100 bytes`: a limit as a message shows it besides its bytes. */
function sizeWords(bytes: number): string {
  for (const [unit, size] of [
    ['MiB', 1024 * 1024],
    ['KiB', 1024],
  ] as const)
    if (bytes >= size) return `${Number((bytes / size).toFixed(2))} ${unit}`
  return `${bytes} bytes`
}

const imageTooLarge = (item: string | undefined, image: string, size: number, limit: number) =>
  new AppError(
    'invalid_request',
    `${prefix(item)}image "${image}" is ${size} bytes, more than the ${limit} (${sizeWords(limit)}) an image may have (MAX_IMAGE_BYTES)`,
    { ...(item ? { item } : {}), image, limit },
  )

/**
 * Refuses (400) `file` (a path resolveCwd confined: a real path inside the roots) unless it is a regular file and
 * an image of at most `limit` bytes (MAX_IMAGE_BYTES); `item` names it in the request (`input[1]`, `images[0]`),
 * `shown` is the path as the client gave it.
 */
export function checkImageFile(file: string, item: string, shown: string, limit: number): void {
  let fd: number
  try {
    // O_NONBLOCK: a FIFO never holds the request
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch {
    throw new AppError('invalid_request', `${item}: image "${shown}" cannot be read`, { item, image: shown })
  }
  try {
    const { type, size, regular } = imageOfDescriptor(fd)
    if (!regular)
      throw new AppError('invalid_request', `${item}: image "${shown}" is not a regular file`, {
        item,
        image: shown,
      })
    checkedImage(type, size, limit, item, shown)
  } finally {
    closeSync(fd)
  }
}

/**
 * The type of an image of `size` bytes whose first bytes said `type` (imageOfDescriptor), refused (400) when it is
 * larger than `limit` or no image; `item` and `shown` name it as in checkImageFile (a copy's check knows no item).
 */
export function checkedImage(
  type: ImageType | null,
  size: number,
  limit: number,
  item: string | undefined,
  shown: string,
): ImageType {
  if (size > limit) throw imageTooLarge(item, shown, size, limit)
  if (!type) throw notAnImage(item, shown)
  return type
}

/** Refuses (400) a data:image/ URL whose bytes are not an image of at most `limit` bytes; `item` as above. */
export function checkImageUrl(url: string, item: string, limit: number): ImageType {
  const shown = url.length > 60 ? `${url.slice(0, 60)}...` : url
  let data: string
  try {
    data = dataUrlParts(url).data
  } catch {
    throw new AppError('invalid_request', `${item}: image URL "${shown}" is not a well-formed data: URL`, {
      item,
    })
  }
  return checkedImage(
    sniffImage(Buffer.from(data.slice(0, 24), 'base64')),
    base64Bytes(data),
    limit,
    item,
    shown,
  )
}
