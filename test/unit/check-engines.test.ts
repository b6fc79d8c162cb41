import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { checkEngines, type Lockfile, lowestNode, packagesExcluding } from '../../scripts/check-engines.js'

const root = path.join(import.meta.dirname, '..', '..')
const script = path.join(root, 'scripts', 'check-engines.ts')
const tsx = path.join(root, 'node_modules', '.bin', 'tsx')

/** A copy of the project's package.json and lock in a temporary directory, one production entry's engines changed. */
function lockWithEngines(where: string, node: string): { dir: string; version: string | undefined } {
  const dir = mkdtempSync(path.join(tmpdir(), 'check-engines-'))
  dirs.push(dir)
  copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'))
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as Required<Lockfile>
  const entry = lock.packages[where]
  if (!entry || entry.dev) throw new Error(`${where} is no production entry of package-lock.json`)
  entry.engines = { node }
  writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify(lock))
  return { dir, version: entry.version }
}
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('check-engines (npm run lint)', () => {
  it('passes on the real lock: every production package runs on the lowest Node of engines.node', () => {
    expect(checkEngines(root)).toEqual({ node: '20.19.0', failures: [] })
  })

  it('fails on a production entry that declares >=22, naming it', () => {
    const { dir, version } = lockWithEngines('node_modules/fastify', '>=22')
    expect(checkEngines(dir).failures).toEqual([`node_modules/fastify@${version} (engines.node >=22)`])
    // the command `npm run lint` runs exits non-zero with the same line
    const run = spawnSync(tsx, [script, dir], { encoding: 'utf8' })
    expect(run.status).toBe(1)
    expect(run.stderr).toContain('do not run on Node 20.19.0')
    expect(run.stderr).toContain(`node_modules/fastify@${version} (engines.node >=22)`)
  })

  it('leaves out dev-only entries and entries without engines.node', () => {
    const lock: Lockfile = {
      packages: {
        '': { engines: { node: '>=20.19' } },
        'node_modules/agent-cli': { version: '1.0.0', dev: true, engines: { node: '>=22' } },
        'node_modules/no-engines': { version: '1.0.0' },
        'node_modules/old-style': { version: '1.0.0', engines: ['node >=0.4'] },
        'node_modules/fits': { version: '1.0.0', engines: { node: '18 || 20 || >=22' } },
        'node_modules/a/node_modules/too-new': { version: '2.0.0', engines: { node: '^22.12 || >=24' } },
      },
    }
    expect(packagesExcluding(lock, lowestNode('>=20.19'))).toEqual([
      'node_modules/a/node_modules/too-new@2.0.0 (engines.node ^22.12 || >=24)',
    ])
  })
})
