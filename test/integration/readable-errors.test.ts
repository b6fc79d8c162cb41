import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import { held, type MockLlm } from '../mock-llm/index.js'
import { postJson, sharedGateway, startGateway, type TestGateway } from '../support/gateway.js'
import { readSse } from '../support/sse-client.js'
import { tempDir } from '../support/temp.js'

/** What a newcomer reads when something goes wrong: every failure reaches the client, in words. */
describe('readable errors', () => {
  const shared = sharedGateway()
  let mock: MockLlm
  let gw: TestGateway
  beforeEach(() => ({ mock, gw } = shared))

  it('a cwd outside the workspace names the roots and the setting that adds one, on every route', async () => {
    const cases: [string, unknown][] = [
      ['/v1/runs', { prompt: 'hi', cwd: '/etc' }],
      ['/chat', { prompt: 'hi', cwd: '/etc' }],
      ['/run', { cli: 'codex', args: ['--version'], cwd: '/etc' }],
      ['/api/codex/run', { prompt: 'hi', working_directory: 'no-such-dir' }],
      ['/v1/sessions', { cwd: '/etc' }],
    ]
    for (const [route, body] of cases) {
      const res = await postJson(gw.url + route, body)
      expect(res.status, route).toBe(400)
      const text = await res.text()
      expect(text, route).toContain('WORKSPACE_ROOTS')
      expect(text, route).toContain(gw.workspace)
    }
  })

  it("codex's helper-binary warnings stay out of answers", async () => {
    mock.script({ kind: 'text', text: 'clean' })
    const chat = (await (await postJson(`${gw.url}/chat`, { prompt: 'hi' })).json()) as { stderr: string }
    expect(chat.stderr).not.toMatch(/PATH aliases|helper binaries/)
    const run = await (await postJson(`${gw.url}/run`, { cli: 'codex', args: ['exec', '--help'] })).text()
    expect(run).not.toMatch(/PATH aliases/)
  })

  it('a cancelled run says it was cancelled', async () => {
    // its answer never comes: it runs (codex asked the model) until the cancel
    const never = held({ kind: 'text', text: 'too late' })
    mock.script(never.step)
    const run = (await (await postJson(`${gw.url}/v1/runs`, { prompt: 'cancel me' })).json()) as Run
    await never.asked
    const cancelled = (await (
      await fetch(`${gw.url}/v1/runs/${run.id}/cancel`, { method: 'POST' })
    ).json()) as Run
    expect(cancelled).toMatchObject({ status: 'cancelled', reason: 'cancelled' })
    expect(cancelled.error).toMatch(/^cancelled: the run was cancelled on request/)
  })

  describe('codex refusing to start (not a git repository) reaches the client', () => {
    it('/api/codex/run and /api/codex/stream refuse at once with what to do', async () => {
      mkdirSync(path.join(gw.workspace, 'plain'), { recursive: true })
      const body = { prompt: 'hi', working_directory: 'plain', skip_git_repo_check: false }
      for (const route of ['/api/codex/run', '/api/codex/stream']) {
        const res = await postJson(gw.url + route, body)
        expect(res.status, route).toBe(400)
        expect(await res.json()).toMatchObject({
          error: expect.stringMatching(/not inside a git repository.*skip_git_repo_check/),
        })
      }
      // the cancelled run of the test before may still send its model request: count only this test's
      expect(mock.requests.filter((r) => !JSON.stringify(r).includes('cancel me'))).toHaveLength(0)
    })

    it('a codex that fails before emitting anything is an error, not an empty 200', async () => {
      // a CODEX_HOME whose config codex cannot read: it exits before its first event, like any refusal to start
      const home = tempDir('broken-codex-home-')
      writeFileSync(path.join(home, 'config.toml'), 'this is = = not toml\n')
      const broken = await startGateway(mock, { CODEX_HOME: home })
      try {
        const res = await postJson(`${broken.url}/api/codex/run`, { prompt: 'hi' })
        const text = await res.text()
        expect(res.status, text).toBe(500)
        expect(JSON.parse(text)).toMatchObject({
          error: expect.stringMatching(/codex failed before emitting any event \(exit code 1\): .*config/s),
        })
        const stream = await postJson(`${broken.url}/api/codex/stream`, { prompt: 'hi' })
        expect(stream.status).toBe(200)
        const frames = await readSse(stream)
        expect(JSON.parse(frames.at(-1)!.data)).toMatchObject({
          type: 'error',
          message: expect.stringMatching(/codex failed before emitting any event/),
        })
      } finally {
        await broken.close()
      }
    })

    it('a model name that looks like a flag is passed as a model, not read as a flag', async () => {
      mock.script({ kind: 'text', text: 'flag-like model' })
      const res = await postJson(`${gw.url}/api/codex/run`, { prompt: 'hi', model: '--help' })
      expect(res.status).toBe(200)
      expect(mock.requests.at(-1)?.body).toMatchObject({ model: '--help' })
    })
  })
})
