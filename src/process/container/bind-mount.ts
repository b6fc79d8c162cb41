import path from 'node:path'

/**
 * How a directory enters a container: `--mount type=bind,source=DIR,target=DIR[,readonly]`, not `-v DIR:DIR:ro`,
 * whose `:`-separated fields cannot hold a path with a `:` (podman refuses it: "incorrect volume format").
 *
 * A `--mount` value is comma-separated `key=value` fields, which the podman and docker CLIs read as a CSV record:
 * a field in double quotes may hold a `,`, a `"` (doubled) or a line break. The podman CLI builds the mount from
 * that record itself (podman 4.3.1: any path mounts so, tested; only a carriage return right before a line break
 * is lost, Go's CSV reader drops it), so for podman (`quoted`) a field holding any of those is quoted. The docker
 * CLI sends what it read to its daemon, and podman's Docker-compatible API joins those fields back into one
 * unquoted string and splits it again: there a directory named `x,source=` holding `etc` mounts the host's /etc.
 * So for any other engine (`plain`) a path with a `,` is never mounted; nor one with a `"` (a CSV quote) or a
 * line break (a CSV record's end). `:` and `=` are plain characters inside a field (a field splits at its first
 * `=`).
 *
 * Only a source and the cwd's target carry a host path: the directories the gateway makes for a launch (its staged
 * files, a run's or session's image copies) are mounted at fixed paths under containerMountRoot, and the agent is
 * given those.
 */
export type MountSyntax = 'quoted' | 'plain'

/** How the engine reads a `--mount` value: podman's own CLI builds it from the quoted record (see above). */
export function mountSyntax(engine: string): MountSyntax {
  return path.basename(engine).startsWith('podman') ? 'quoted' : 'plain'
}

/** Where in a container the gateway mounts what it made for a launch (staged files, image copies). */
export const containerMountRoot = '/run/agent-gateway'

/** The characters a mounted path must not hold, per syntax, each with the name a refusal gives it. */
const unmountable: Record<MountSyntax, ReadonlyArray<[string, string]>> = {
  quoted: [['\r\n', 'a carriage return before a line break']],
  plain: [
    [',', '","'],
    ['"', "'\"'"],
    ['\n', 'a line break'],
    ['\r', 'a carriage return'],
  ],
}

/** The name of the first character that keeps `dir` out of a container's mounts, or undefined. */
export function unmountableCharacter(dir: string, syntax: MountSyntax): string | undefined {
  return unmountable[syntax].find(([c]) => dir.includes(c))?.[1]
}

/** Why `dir` cannot be mounted into a container (undefined when it can), for a refusal naming `what`. */
export function unmountableReason(dir: string, what: string, syntax: MountSyntax): string | undefined {
  const character = unmountableCharacter(dir, syntax)
  if (!character) return undefined
  return syntax === 'quoted'
    ? `${what} "${dir}" cannot be mounted into a container: its path holds ${character}, which podman's --mount cannot keep; use a directory without one`
    : `${what} "${dir}" cannot be mounted into a container: its path holds ${character}, which this container engine's --mount reads as a separator (only podman's own CLI takes such a path); use a directory whose path has no ",", '"' or line break`
}

/** A `--mount` field, in double quotes when it holds a CSV separator or quote (`quoted` syntax only). */
function field(text: string, syntax: MountSyntax): string {
  return syntax === 'quoted' && /[,"\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/**
 * The `--mount` value binding `source` at `target` in the container, read-only unless writable (throws for a path
 * the syntax cannot carry).
 */
export function bindMount(source: string, target: string, writable: boolean, syntax: MountSyntax): string {
  const reason = unmountableReason(source, 'directory', syntax) ?? unmountableReason(target, 'target', syntax)
  if (reason) throw new Error(reason)
  const fields = ['type=bind', field(`source=${source}`, syntax), field(`target=${target}`, syntax)]
  return [...fields, ...(writable ? [] : ['readonly'])].join(',')
}
