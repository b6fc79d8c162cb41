import { existsSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { expect } from 'vitest'

/**
 * A command for the model to run in a workspace-write sandbox: it writes its cwd (the TMPDIR it sees, so the
 * test knows the variable reached it), then tries /tmp and $TMPDIR (the gateway's `exclude_slash_tmp` and
 * `exclude_tmpdir_env_var` overrides keep both out of codex's writable roots). `confined(cwd)` expects the first
 * write and neither other one, and removes what got through.
 */
export function tmpWrites(tmpdir: string) {
  const name = `agw-ww-${process.pid}-${Math.random().toString(36).slice(2)}`
  const slashTmp = path.join('/tmp', name)
  const inTmpdir = path.join(tmpdir, name)
  return {
    cmd: `echo "$TMPDIR" > seen-tmpdir.txt; echo out > ${slashTmp}; echo tmp > "$TMPDIR/${name}"; true`,
    confined(cwd: string) {
      const through = [slashTmp, inTmpdir].filter((f) => existsSync(f))
      for (const f of through) rmSync(f, { force: true })
      expect(readFileSync(path.join(cwd, 'seen-tmpdir.txt'), 'utf8').trim()).toBe(tmpdir)
      expect(through).toEqual([])
    },
  }
}
