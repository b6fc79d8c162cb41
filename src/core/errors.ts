/**
 * One error class and one registry of error codes -> HTTP status. Surfaces turn AppErrors into their own
 * body shapes in exactly one place (src/http/errors.ts); `cause` is kept for logs.
 */
export const errorCodes = {
  invalid_request: 400,
  invalid_cwd: 400,
  forbidden_argument: 400,
  forbidden_env: 400,
  unknown_cli: 400,
  unknown_agent: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  timed_out: 408,
  conflict: 409,
  body_too_large: 413,
  unsupported_media_type: 415,
  over_capacity: 429,
  agent_failed: 500,
  internal: 500,
  agent_not_installed: 503,
  agent_not_authenticated: 503,
  shutting_down: 503,
} as const

export type ErrorCode = keyof typeof errorCodes

export class AppError extends Error {
  override name = 'AppError'
  readonly status: number
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.status = errorCodes[code]
  }
}
