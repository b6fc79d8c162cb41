import type { FastifyReply } from 'fastify'

/**
 * The headers of the API reference pages (Swagger UI at /docs, ReDoc at /redoc, and what they load): no page of
 * another origin may frame them (they run with the token the console saved in this browser, and Swagger UI's
 * "Try it out" sends requests with it: a frame could lead the user's clicks), and nothing they serve is read as
 * another type than it says. The console has these and a full policy (console.ts consoleSecurityHeaders); these
 * pages keep their own scripts and styles (Swagger UI's inline ones), so only framing is restricted.
 */
export const noFramingHeaders: Readonly<Record<string, string>> = {
  'content-security-policy': "frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
}

/** `reply` with noFramingHeaders set. */
export const withoutFraming = (reply: FastifyReply): FastifyReply => reply.headers(noFramingHeaders)
