import v8 from 'node:v8'

/**
 * Keeps V8's optimizing compilers off while the server starts, and turns them back on once it listens.
 *
 * The start runs most of its code once (imports, route registration, zod schemas), yet some of it gets hot
 * enough for V8 to optimize it on a background thread: work nobody profits from, and it leaves the
 * compilers' code pages (about 3 MB of the node binary) and their freed zone memory (about 4 MB that malloc
 * keeps) in an idle server's RSS (docs/benchmarks.md, "Target 7, fourth round"). The interpreter and the
 * baseline compiler (Sparkplug) still run; after the start a function that gets hot is optimized as before.
 * V8 reads these flags each time it decides to optimize, so setting them at run time takes effect (Node keeps
 * V8's flags writable). Maglev is on by default from V8 12 (Node 22) only, and is left alone before that.
 * Nothing is changed when the operator set a compiler flag of their own (node flags or NODE_OPTIONS).
 */
export function holdOptimizingCompilers(): () => void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]
  if (given.some((flag) => /^--(no-)?(opt|turbofan|maglev|jitless)\b/.test(flag))) return () => {}
  const compilers = Number(process.versions.v8.split('.')[0]) >= 12 ? ['turbofan', 'maglev'] : ['turbofan']
  for (const c of compilers) v8.setFlagsFromString(`--no-${c}`)
  return () => {
    for (const c of compilers) v8.setFlagsFromString(`--${c}`)
  }
}
