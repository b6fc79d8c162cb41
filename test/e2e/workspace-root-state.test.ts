import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { gatewayEnv } from '../support/gateway.js'
import { startServerProcess } from '../support/server-process.js'

/**
 * A workspace root around the gateway's own state: with WORKSPACE_DIR=. (its working directory, which holds DATA_DIR
 * and `.env`) a request's `cwd` could name DATA_DIR (the store, Claude Code's shell prefix in DATA_DIR/bin) or read
 * `.env`, and a workspace-write agent change them. Before, such a server started; now it refuses, naming the setting.
 */
describe('agent-gateway serve: a workspace root that holds its state', () => {
  it.each([
    [
      'WORKSPACE_DIR=. (around DATA_DIR and .env)',
      (dir: string) => ({ WORKSPACE_DIR: dir }),
      /contains DATA_DIR/,
    ],
    [
      'a root holding .env, DATA_DIR elsewhere',
      (dir: string) => ({ WORKSPACE_DIR: dir, DATA_DIR: `${dir}-data`, HOME: `${dir}-home` }),
      /contains the \.env file/,
    ],
    [
      'a root around CODEX_HOME',
      (dir: string) => ({
        WORKSPACE_ROOTS: path.join(dir, 'agents'),
        CODEX_HOME: path.join(dir, 'agents/codex'),
      }),
      /contains CODEX_HOME/,
    ],
  ])('%s: refuses to start', async (_name, settings, message) => {
    const { env, dir } = gatewayEnv(null)
    writeFileSync(path.join(dir, '.env'), 'CODEX_API_KEY=sk-from-dotenv-0123456789\n')
    const result = await startServerProcess({ ...env, ...settings(dir) }, dir)
    if ('url' in result) await result.stop()
    expect('url' in result, 'the server started').toBe(false)
    if (!('url' in result)) {
      expect(result.exitCode).not.toBe(0)
      expect(result.output.join('\n')).toMatch(message)
    }
  })
})
