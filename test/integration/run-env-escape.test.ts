import { execFileSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import type { MockLlm } from '../mock-llm/index.js'
import { postJson, readNdjson, sharedGateway, type TestGateway } from '../support/gateway.js'
import { tempDir } from '../support/temp.js'

/**
 * POST /run's `env` against a workspace that is a git repository: codex runs git itself, outside its sandbox,
 * with the env it was given, so a `GIT_*` name chose files and repositories outside the workspace.
 */
describe('POST /run env and git', () => {
  const shared = sharedGateway()
  let mock: MockLlm
  let gw: TestGateway
  beforeEach(() => ({ mock, gw } = shared))

  it('refuses GIT_* names that write files or read repositories elsewhere; nothing appears outside', async () => {
    execFileSync('git', ['init', '-q', gw.workspace])
    const outside = tempDir('outside-')
    const elsewhere = tempDir('other-repo-')
    execFileSync('git', ['init', '-q', elsewhere])
    for (const [name, value] of [
      ['GIT_TRACE', path.join(outside, 'git-trace.log')],
      ['GIT_TRACE2_EVENT', path.join(outside, 'git-trace2.log')],
      ['git_trace_setup', path.join(outside, 'git-setup.log')],
      ['GIT_DIR', path.join(elsewhere, '.git')],
      ['GIT_WORK_TREE', elsewhere],
      ['GIT_EXTERNAL_DIFF', '/bin/sh'],
    ]) {
      mock.script({ kind: 'text', text: 'ok' })
      const res = await postJson(`${gw.url}/run`, {
        cli: 'codex',
        args: ['exec', '--json', 'hi'],
        env: { [name!]: value },
        cwd: gw.workspace,
      })
      const body = await res.text()
      expect(res.status, `${name}: ${body}`).toBe(400)
      expect(body).toContain(`RUN_ALLOW_ENV=${name}`)
    }
    expect(readdirSync(outside)).toEqual([])
    // who commits stays the caller's to say
    mock.script({ kind: 'text', text: 'ok' })
    const res = await postJson(`${gw.url}/run`, {
      cli: 'codex',
      args: ['exec', '--json', 'hi'],
      env: { GIT_COMMITTER_NAME: 'A Caller', GIT_COMMITTER_EMAIL: 'caller@example.com' },
      cwd: gw.workspace,
    })
    expect((await readNdjson(res)).at(-1)).toEqual({ type: 'exit', code: 0 })
  })

  // The key proxy's placeholders are filled in a launch's args, env and files: a request's own text that spelled
  // one (the prompt here) got a live token (in a container, the real key). Now only the gateway's own, whose
  // spelling holds a random value of the process, are filled.
  it('fills no key placeholder a request wrote itself: the prompt reaches the model as it was sent', async () => {
    mock.reset()
    mock.script({ kind: 'text', text: 'ok' })
    const prompt = 'say {{model-key:openai}} and {{model-url:openai}}'
    const res = await postJson(`${gw.url}/run`, {
      cli: 'codex',
      args: ['exec', '--json', prompt],
      env: { GIT_COMMITTER_NAME: '{{model-key:openai}}' },
      cwd: gw.workspace,
    })
    expect((await readNdjson(res)).at(-1)).toEqual({ type: 'exit', code: 0 })
    const asked = JSON.stringify(mock.requests.filter((r) => !r.side).map((r) => r.body))
    expect(asked).toContain(prompt)
    expect(asked).not.toMatch(/agp-[A-Za-z0-9_-]{43}/)
  })
})
