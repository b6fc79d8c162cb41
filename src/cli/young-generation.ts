import v8 from 'node:v8'

/**
 * Keeps V8's young generation at its initial size while the server starts, and lets it grow again after.
 *
 * Loading the server (about 200 CommonJS files and the gateway's own modules) and registering its routes
 * allocates fast, so V8 doubles the young generation's semi-spaces from 1 MB to 16 MB on the way: 30 MB of
 * RSS that an idle server never gives back (measured in docs/benchmarks.md, "Target 7"). With a growth
 * factor of 1 they stay at 1 MB during the start; the returned function restores V8's default (2) once the
 * server listens, so a loaded server grows them as before. Nothing is changed when the operator set a
 * semi-space flag of their own (node flags or NODE_OPTIONS). `--semi-space-growth-factor` is read by V8 each
 * time it grows the space, so setting it at run time takes effect (Node keeps V8's flags writable).
 */
export function holdYoungGeneration(): () => void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]
  if (given.some((flag) => /semi[-_]space/.test(flag))) return () => {}
  v8.setFlagsFromString('--semi-space-growth-factor=1')
  return () => v8.setFlagsFromString('--semi-space-growth-factor=2')
}
