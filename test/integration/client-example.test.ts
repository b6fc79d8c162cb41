import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { sharedGateway } from '../support/gateway.js'

const root = path.resolve(import.meta.dirname, '../..')
const tsxLoader = import.meta.resolve('tsx')

/** The README's client example, run as its own Node process against a real gateway (codex + mock model). */
describe('README client example', () => {
  const shared = sharedGateway({ AGENTS: 'codex' })

  it('imports agent-gateway/client, starts a run and prints the streamed answer', async () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8')
    const block = /<!-- client-example:start -->\s*```ts\n([\s\S]*?)```\s*<!-- client-example:end -->/.exec(
      readme,
    )
    expect(block, 'README has the client example between its markers').not.toBeNull()
    // Inside the package (so `agent-gateway/client` resolves to itself), in an ignored directory.
    const dir = path.join(root, '.tmp')
    mkdirSync(dir, { recursive: true })
    const file = path.join(dir, `readme-client-example-${process.pid}.ts`)
    writeFileSync(file, block![1]!)
    shared.mock.script({ kind: 'text', text: 'Hello from the example' })
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=development', '--import', tsxLoader, file],
      { cwd: root, env: { ...process.env, GATEWAY_URL: shared.gw.url }, timeout: 60_000 },
    ).finally(() => rmSync(file, { force: true }))
    expect(stdout.trim().split('\n')).toEqual(['Hello from the example', 'run succeeded'])
  })
})
