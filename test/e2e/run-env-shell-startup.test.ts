import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayEnv, postJson } from '../support/gateway.js'
import { killAll, processesUnder, waitUntilGone } from '../support/processes.js'
import { type ServerProcess, startServerProcess } from '../support/server-process.js'

/** A user other than root whose login shell is bash, as a deployment runs the gateway (the image: `node`). */
function bashUser(): { uid: number; gid: number } | undefined {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [, , uid, gid, , , shell] = line.split(':')
    if (uid && uid !== '0' && shell?.endsWith('/bash') && process.getuid?.() === 0)
      return { uid: Number(uid), gid: Number(gid) }
  }
  return undefined
}

const user = bashUser()

/**
 * POST /run's `env` reaches the shells codex starts outside its sandbox (its shell snapshot, a login bash run
 * with codex's own environment). bash imports `SHELLOPTS` and, unless it runs as root, expands an imported
 * `PS4` (command substitution included) for every traced command: a command of the caller's outside the
 * sandbox. Bash ignores PS4 from the environment as root, so the gateway runs as another user here.
 */
describe.skipIf(!user)('POST /run env and the shells codex starts (gateway not run as root)', () => {
  let mock: MockLlm
  let server: ServerProcess
  let base: string
  let workspace: string
  let outside: string
  beforeAll(async () => {
    mock = await startMockLlm()
    base = mkdtempSync(path.join(os.tmpdir(), 'agw-shell-startup-'))
    const dirs = ['workspace', 'data', 'home', 'codex-home', 'outside'].map((d) => path.join(base, d))
    for (const d of dirs) mkdirSync(d)
    ;[workspace, , , , outside] = dirs as [string, string, string, string, string]
    writeFileSync(path.join(base, 'codex-home', 'config.toml'), '[analytics]\nenabled = false\n')
    for (const p of [base, ...dirs, path.join(base, 'codex-home', 'config.toml')])
      chownSync(p, user!.uid, user!.gid)
    const { env } = gatewayEnv(mock, {
      DATA_DIR: path.join(base, 'data'),
      WORKSPACE_DIR: workspace,
      HOME: path.join(base, 'home'),
      CODEX_HOME: path.join(base, 'codex-home'),
      COPILOT_PKG_CACHE_HOME: path.join(base, 'home', 'copilot'),
      TMPDIR: base,
    })
    const started = await startServerProcess(env, base, 60_000, [], user)
    if (!('url' in started))
      throw new Error(`server exited (${started.exitCode}):\n${started.output.join('\n')}`)
    server = started
  })
  afterAll(async () => {
    await server?.stop('SIGTERM')
    await mock?.close()
    if (!base) return
    // outside the worker's test directory (another user cannot enter it), so the suite's leak check is here
    const left = await waitUntilGone(() => processesUnder(base))
    killAll(left)
    rmSync(base, { recursive: true, force: true })
    expect(left.map((p) => p.cmd)).toEqual([])
  })

  it('refuses SHELLOPTS, BASHOPTS and PS4; no command of the caller runs outside the sandbox', async () => {
    const proof = path.join(outside, 'ps4-ran')
    for (const env of [
      { SHELLOPTS: 'xtrace', PS4: `$(touch ${proof})` },
      { BASHOPTS: 'extdebug' },
      { ZDOTDIR: outside },
    ]) {
      mock.script({ kind: 'text', text: 'ok' })
      const res = await postJson(`${server.url}/run`, {
        cli: 'codex',
        args: ['exec', '--json', '--skip-git-repo-check', 'hi'],
        env,
        cwd: workspace,
      })
      const body = await res.text()
      expect(res.status, `${JSON.stringify(env)}: ${body}`).toBe(400)
      // seed 001's error shape (codex.serve is FastAPI): {detail}, naming the variable refused
      expect(JSON.parse(body).detail).toContain(`env ${Object.keys(env)[0]} is not allowed`)
    }
    expect(existsSync(proof)).toBe(false)
    expect(readdirSync(outside)).toEqual([])
  })
})
