import path from 'node:path'
import { containerMountRoot } from '../process/container/bind-mount.js'
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

/** Where a container sees a run's or session's image copies (a fixed path: DATA_DIR's characters stay out). */
export const containerImages = `${containerMountRoot}/images`

/**
 * A run's (staged) images as its agent reads them. In a container (`inContainer`) each copies' directory is mounted
 * read-only at `containerImages/<n>` and the agent is given the paths there, so the host path (under
 * DATA_DIR/run-images, whatever characters DATA_DIR has: a `,` would also split codex's `--image` value) never
 * reaches a mount's target or the agent; on the host, the copies themselves.
 */
export function placedImages(
  images: readonly string[] | undefined,
  inContainer: boolean,
): { paths: string[] | undefined; mounts: Mount[]; shown: <T>(event: T) => T } {
  if (!images?.length || !inContainer)
    return { paths: images ? [...images] : undefined, mounts: [], shown: (event) => event }
  const dirs = [...new Set(images.map((i) => path.dirname(i)))]
  const mounts = dirs.map((dir, n) => ({ path: dir, target: `${containerImages}/${n}`, writable: false }))
  const paths = images.map((i) => seenAt(i, mounts))
  const back = new Map(paths.map((seen, i) => [seen, images[i]!]))
  return { paths, mounts, shown: (event) => swapStrings(event, back) }
}

/**
 * `value` with every string that is a key of `paths` replaced by its value (an agent's event naming an image where
 * its container sees it names the copy the core gave, which the core names as the client did: turn-images.ts).
 */
function swapStrings<T>(value: T, paths: ReadonlyMap<string, string>): T {
  const swap = (v: unknown): unknown => {
    if (typeof v === 'string') return paths.get(v) ?? v
    if (Array.isArray(v)) return v.map(swap)
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, swap(x)]))
    return v
  }
  return swap(value) as T
}

/** `file` as the container sees it through the first of `mounts` that holds it (unchanged when none does). */
export function seenAt(file: string, mounts: readonly Mount[]): string {
  for (const m of mounts) {
    const rel = path.relative(m.path, file)
    if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) return path.posix.join(m.target ?? m.path, rel)
  }
  return file
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
