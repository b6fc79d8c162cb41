/** A 1x1 PNG: codex sends an image it can read to the model (as a data:image/png;base64 URL). */
export const onePixelPng = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
)

/** `png` inline, as a turn's `image` item carries it. */
export const dataUrlOf = (png: Buffer): string => `data:image/png;base64,${png.toString('base64')}`
