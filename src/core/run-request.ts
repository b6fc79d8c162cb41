import type { RunRequest } from '../agents/driver.js'
import type { Run } from '../protocol/runs.js'

/** What a driver is asked to do for a stored run (its request as admitted: cwd resolved, timeout set). */
export function runRequestOf(request: Run['request']): RunRequest {
  return {
    prompt: request.prompt ?? '',
    cwd: request.cwd,
    ...(request.command ? { raw: request.command } : {}),
    ...(request.timeoutMs !== undefined ? { timeoutMs: request.timeoutMs } : {}),
    ...(request.model ? { model: request.model } : {}),
    ...(request.sandbox ? { sandbox: request.sandbox } : {}),
    ...(request.skipGitRepoCheck !== undefined ? { skipGitRepoCheck: request.skipGitRepoCheck } : {}),
    ...(request.outputSchema ? { outputSchema: request.outputSchema } : {}),
    ...(request.images ? { images: request.images } : {}),
  }
}
