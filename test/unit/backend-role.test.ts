import { afterEach, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load.js'
import { openBackend } from '../../src/core/backend.js'
import { removeDir, tempDir } from '../support/temp.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d)
})

it('a node role without DATABASE_URL names the flag, the setting and the single-node role', async () => {
  const cwd = tempDir('backend-role-')
  dirs.push(cwd)
  const config = loadConfig({ PATH: process.env.PATH, GATEWAY_ROLE: 'worker' }, cwd)
  await expect(openBackend(config)).rejects.toThrow(
    'the role worker (--role or GATEWAY_ROLE) needs DATABASE_URL (postgres://…): API nodes and workers share a PostgreSQL store; a single node runs with the role all (the default)',
  )
})
