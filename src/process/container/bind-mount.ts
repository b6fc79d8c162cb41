/**
 * How a directory enters a container: `--mount type=bind,source=DIR,target=DIR[,readonly]`, not `-v DIR:DIR:ro`,
 * whose `:`-separated fields cannot hold a path with a `:` (podman refuses it: "incorrect volume format").
 *
 * A `--mount` value is comma-separated `key=value` fields. The podman and docker CLIs read it as a CSV record
 * (a quoted field may hold a `,`), but podman's Docker-compatible API joins the fields docker sent back into one
 * unquoted string and splits it again: there a directory named `x,source=` holding `etc` mounts the host's /etc.
 * So a path with a `,` is never mounted, whatever the engine; nor one with a `"` (a CSV quote) or a line break
 * (a CSV record's end). `:` and `=` are plain characters inside a field (a field splits at its first `=`).
 */

/** The characters a mounted path must not hold, each with the name a refusal gives it. */
const unmountable: ReadonlyArray<[string, string]> = [
  [',', '","'],
  ['"', "'\"'"],
  ['\n', 'a line break'],
  ['\r', 'a carriage return'],
]

/** The name of the first character that keeps `dir` out of a container's mounts, or undefined. */
export function unmountableCharacter(dir: string): string | undefined {
  return unmountable.find(([c]) => dir.includes(c))?.[1]
}

/** Why `dir` cannot be mounted into a container (undefined when it can), for a refusal naming `what`. */
export function unmountableReason(dir: string, what: string): string | undefined {
  const character = unmountableCharacter(dir)
  return character
    ? `${what} "${dir}" cannot be mounted into a container: its path holds ${character}, which a container engine's --mount reads as a separator; use a directory whose path has no ",", '"' or line break`
    : undefined
}

/** The `--mount` value binding `dir` at its own path, read-only unless writable (throws for an unmountable path). */
export function bindMount(dir: string, writable: boolean): string {
  const reason = unmountableReason(dir, 'directory')
  if (reason) throw new Error(reason)
  return `type=bind,source=${dir},target=${dir}${writable ? '' : ',readonly'}`
}
