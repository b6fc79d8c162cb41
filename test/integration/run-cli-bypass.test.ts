import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postJson, startGateway, type TestGateway } from '../support/gateway.js'
import { processesUnder } from '../support/processes.js'

/**
 * POST /run with other agent CLIs in CLI_LIST: the spellings of a bypass their own CLIs take besides `--yolo` and
 * `--permission-mode bypassPermissions` are refused before anything starts. Before: Gemini CLI's `-y` and
 * `--approval-mode yolo`, and the options that let a shell run without asking, started the CLI.
 */
describe('POST /run: the bypass spellings of gemini, claude and copilot', () => {
  let gw: TestGateway
  beforeAll(async () => {
    gw = await startGateway(null, { CLI_LIST: 'codex,gemini,claude,copilot' })
  })
  afterAll(async () => {
    await gw?.close()
  })

  it.each([
    ['gemini', ['-p', 'hi', '-y']],
    ['gemini', ['-p', 'hi', '--approval-mode=yolo']],
    ['gemini', ['-p', 'hi', '--allowed-tools', 'run_shell_command']],
    ['claude', ['-p', 'hi', '--allowedTools', 'Bash']],
    ['claude', ['-p', 'hi', '--settings', '{"permissions":{"defaultMode":"bypassPermissions"}}']],
    ['copilot', ['-p', 'hi', '--allow-tool', 'shell']],
  ])('%s %j: 400 forbidden_argument, nothing started', async (cli, args) => {
    const res = await postJson(`${gw.url}/run`, { cli, args })
    const body = (await res.json()) as { error?: { code: string; message: string } }
    expect(res.status, JSON.stringify(body)).toBe(400)
    expect(JSON.stringify(body)).toMatch(/RUN_ALLOW_UNSAFE_ARGS/)
    expect(processesUnder(gw.workspace)).toEqual([])
  })
})
