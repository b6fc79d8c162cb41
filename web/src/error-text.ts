import { ApiError } from '../../src/client/index.js'

/** How much of an error body that is not the gateway's JSON the console shows. */
const bodyChars = 200

/** What an error reads as on the page: the status and the gateway's message, or why nothing answered. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return `${err.status}: ${bodyText(err.body) ?? err.message}`
  // what fetch throws when no answer came (offline, the gateway down): its "Failed to fetch" alone says little
  if (err instanceof TypeError)
    return `The gateway did not answer (${err.message}): check the connection and try again.`
  return err instanceof Error ? err.message : String(err)
}

/**
 * The start of a body that is not JSON (a proxy's page, a plain-text 500), on one line and at most bodyChars long;
 * null for JSON (its `error.message` is the ApiError's message) or an empty body. Shown as text, never as markup.
 */
function bodyText(body: unknown): string | null {
  if (typeof body !== 'string') return null
  const text = body.replace(/\s+/g, ' ').trim()
  if (!text) return null
  return text.length > bodyChars ? `${text.slice(0, bodyChars)}…` : text
}
