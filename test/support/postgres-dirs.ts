import { chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { ServerUser } from './postgres-tools.js'
import type { ProcessOwner } from './process-owner.js'

/**
 * One directory per test server (`server-*`: a file's own), the run's shared server (`shared-*`:
 * run-postgres.ts) or template (`template-*`) under serversRoot(): `data/` (the cluster), its log and unix
 * socket, and `owner.json`, the process it belongs to, written before anything else so a run killed at any
 * point leaves nothing unowned that it started.
 */
export type DirKind = 'server' | 'shared' | 'template'
const kinds: readonly string[] = ['server', 'shared', 'template'] satisfies DirKind[]

export interface OwnedDir {
  dir: string
  kind: DirKind
  owner: ProcessOwner
}

export const ownerFile = 'owner.json'

export function makeOwnedDir(root: string, kind: DirKind, owner: ProcessOwner, user?: ServerUser): string {
  // the server user walks through root to its own directory
  mkdirSync(root, { recursive: true, mode: 0o755 })
  const dir = mkdtempSync(path.join(root, `${kind}-`))
  writeFileSync(path.join(dir, ownerFile), JSON.stringify(owner))
  if (user) chownSync(dir, user.uid, user.gid)
  return dir
}

/** The directories under root that carry an owner (one being made may not have it yet: it is skipped). */
export function ownedDirs(root: string): OwnedDir[] {
  let names: string[]
  try {
    names = readdirSync(root)
  } catch {
    return []
  }
  return names.flatMap((name) => {
    const kind = name.split('-')[0] as DirKind
    if (!kinds.includes(kind)) return []
    const dir = path.join(root, name)
    try {
      const owner = JSON.parse(readFileSync(path.join(dir, ownerFile), 'utf8')) as ProcessOwner
      return [{ dir, kind, owner }]
    } catch {
      return []
    }
  })
}
