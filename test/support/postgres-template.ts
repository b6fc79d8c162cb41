import path from 'node:path'
import { makeOwnedDir } from './postgres-dirs.js'
import { pgProgram, runAsAsync, serverUser } from './postgres-tools.js'
import type { ProcessOwner } from './process-owner.js'

/** Global setup hands the template's data directory to the workers in this variable. */
export const templateVariable = 'AGW_PG_TEMPLATE'

/**
 * The one initdb of a test run: an empty cluster every test server copies (a copy takes a fraction of what
 * initdb takes, and a run starts several servers). Returns its data directory.
 */
export async function makeTemplate(root: string, owner: ProcessOwner): Promise<string> {
  const user = serverUser()
  const dir = makeOwnedDir(root, 'template', owner, user)
  const data = path.join(dir, 'data')
  await runAsAsync(pgProgram('initdb'), initdbArgs(data), user, dir)
  return data
}

export const initdbArgs = (data: string) => [
  '-D',
  data,
  '-U',
  'postgres',
  '-A',
  'trust',
  '-E',
  'UTF8',
  '--no-sync',
  '--locale=C',
]
