import { z } from 'zod'

/** A seed route's `prompt`: 1 to `maxChars` characters, not only whitespace (`blank` says why not). */
export const promptField = (maxChars: number, blank: string) =>
  z
    .string()
    .min(1)
    .max(maxChars)
    .refine((p) => p.trim() !== '', blank)
