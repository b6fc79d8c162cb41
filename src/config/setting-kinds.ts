import ipaddr from 'ipaddr.js'
import { z } from 'zod'

/**
 * The kinds of environment settings (lists, booleans, bounded integers, ...) and `setting()`, which attaches a
 * setting's documentation (shown default, description) to its zod schema: the README's settings table is
 * generated from that, so each setting is stated once.
 */

export interface SettingDoc {
  /** The default as the settings table shows it, e.g. `8000` or `(none)`. */
  shownDefault: string
  description: string
}

/** A documented setting: its schema carries its documentation. */
export function setting<S extends z.ZodType>(shownDefault: string, description: string, schema: S): S {
  return schema.meta({ description, shownDefault }) as S
}

/** The documentation `setting()` attached to a schema. */
export function settingDocOf(schema: z.ZodType): SettingDoc | undefined {
  const meta = schema.meta() as Partial<SettingDoc> | undefined
  return meta?.shownDefault !== undefined && meta.description !== undefined
    ? { shownDefault: meta.shownDefault, description: meta.description }
    : undefined
}

const splitList = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)

/** A comma-separated list; empty or unset gives `fallback`. */
export const list = (fallback: string[]) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? fallback : splitList(v)))

/**
 * A comma-separated list; unset gives `fallback`, set empty gives none: seed 001's CLI_LIST and MODEL_LIST, whose
 * original split the variable as set (`CLI_LIST=""` allowed no CLI, `MODEL_LIST=""` listed no model).
 */
export const listAsSet = (fallback: string[]) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined ? fallback : splitList(v)))

/** A comma-separated list; empty or unset gives undefined. */
export const optionalList = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : splitList(v)))

export const bool = (fallback: boolean) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback
      if (/^(1|true|yes|on)$/i.test(v)) return true
      if (/^(0|false|no|off)$/i.test(v)) return false
      ctx.addIssue({ code: 'custom', message: `expected true/false, got "${v}"` })
      return z.NEVER
    })

/** An integer setting in [min, max]; empty or unset gives undefined. */
export const optionalInt = (min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined
      const n = Number(v)
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `expected an integer from ${min} to ${max}, got "${v}"` })
        return z.NEVER
      }
      return n
    })

/** Node timers hold at most 2^31-1 ms; a longer delay fires at once. Every duration setting stays below. */
export const maxTimerMs = 2_147_483_647
export const maxTimerSeconds = Math.floor(maxTimerMs / 1000)

/** An integer setting in [min, max] with a default. */
export const int = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  optionalInt(min, max).transform((n) => n ?? fallback)

/** codex.serve semantics: empty, invalid or <= 0 disables the timeout. */
export const optionalTimeoutSeconds = z
  .string()
  .optional()
  .transform((v) => {
    const n = Number(v)
    return v === undefined || v.trim() === '' || !Number.isFinite(n) || n <= 0
      ? null
      : Math.min(n, maxTimerSeconds)
  })

export const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()))

/**
 * Comma-separated IP addresses and CIDR ranges (IPv4 or IPv6); empty or unset gives `fallback`, `none` gives
 * an empty list. Each entry must parse.
 */
export const addressRanges = (fallback: string[]) =>
  list(fallback).transform((entries, ctx) => {
    if (entries.length === 1 && entries[0]?.toLowerCase() === 'none') return []
    for (const e of entries)
      if (!ipaddr.isValidCIDR(e) && !ipaddr.isValid(e)) {
        ctx.addIssue({ code: 'custom', message: `expected an IP address or CIDR range, got "${e}"` })
        return z.NEVER
      }
    return entries
  })
