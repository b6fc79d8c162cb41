import path from 'node:path'
import type { Isolation, LaunchSpec, Mount } from '../process/runner.js'
import type { SandboxMode } from '../protocol/policies.js'

/** Where a request wants its agent to run (from /v1 `isolation` and `image`, or Docker mode). */
export interface Placement {
  isolation?: Isolation
  image?: string
  /** Recorded on the container (run id, session id), so a leftover can be traced to its run. */
  labels?: Record<string, string>
}

/**
 * The LaunchSpec fields that say where and how a driver's program runs: the request's placement, the
 * program's name inside an image, the directories it needs besides its cwd (a path is mounted writable),
 * whether it may write the cwd.
 */
export function placed(
  req: Placement | undefined,
  program: string,
  mounts: (string | Mount | undefined)[] = [],
  writableCwd = false,
): Pick<LaunchSpec, 'isolation' | 'image' | 'labels' | 'program' | 'mounts' | 'writableCwd'> {
  const dirs: Mount[] = mounts
    .filter((m): m is string | Mount => !!m)
    .map((m) => (typeof m === 'string' ? { path: m, writable: true } : m))
  return {
    program,
    writableCwd,
    ...(dirs.length ? { mounts: dirs } : {}),
    ...(req?.isolation ? { isolation: req.isolation } : {}),
    ...(req?.image ? { image: req.image } : {}),
    ...(req?.labels ? { labels: req.labels } : {}),
  }
}

/** The directories of a run's (staged) images, mounted read-only in a container so the agent can read them. */
export function imageMounts(images: readonly string[] | undefined): Mount[] {
  return [...new Set((images ?? []).map((i) => path.dirname(i)))].map((dir) => ({
    path: dir,
    writable: false,
  }))
}

/** Only the placement of a request (a session's, carried into each of its turns). */
export function placementOf(req: Placement): Placement {
  return {
    ...(req.isolation ? { isolation: req.isolation } : {}),
    ...(req.image ? { image: req.image } : {}),
    ...(req.labels ? { labels: req.labels } : {}),
  }
}

/**
 * The sandbox codex applies itself. In a container the container is the sandbox (the workspace is mounted
 * read-only unless the requested sandbox writes, the root is read-only): codex's own bubblewrap cannot nest
 * in it, so codex runs there with `danger-full-access` of what the container lets it see.
 */
export function innerSandbox(req: Placement, requested: SandboxMode): SandboxMode {
  return req.isolation === 'container' ? 'danger-full-access' : requested
}
