import type { RunRequest } from '../agents/driver.js'
import type { Run } from '../protocol/runs.js'

/** What a driver is asked to do for a stored run (its request as admitted: cwd resolved, timeout set). */
export function runRequestOf(request: Run['request']): RunRequest {
  return {
    prompt: request.prompt ?? '',
    cwd: request.cwd,
    ...(request.command ? { raw: request.command } : {}),
    // Admission always sets it, unless the route asked for no limit at all.
    timeoutMs: request.timeoutMs ?? null,
    ...(request.model ? { model: request.model } : {}),
    ...(request.sandbox ? { sandbox: request.sandbox } : {}),
    ...(request.skipGitRepoCheck !== undefined ? { skipGitRepoCheck: request.skipGitRepoCheck } : {}),
    ...(request.outputSchema ? { outputSchema: request.outputSchema } : {}),
    ...(request.images ? { images: request.images } : {}),
  }
}
