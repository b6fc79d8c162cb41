import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Run } from '../../src/protocol/runs.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import {
  gatewayModules,
  mockAgentSettings,
  startGateway,
  type TestGateway,
  testApiKey,
} from '../support/gateway.js'

/**
 * Issue 9 item 1: no secret of the gateway or of a provider reaches a command an agent runs, its stored
 * events, or the agent's own files; redaction is the last line behind that.
 */
const apiToken = 'gw-api-token-7f3a9c2e5b'
const geminiKey = 'gemini-secret-key-5d8e1f0a9b'
const anthropicKey = 'anthropic-secret-key-3c7b2a4e6f'
const copilotKey = 'copilot-secret-key-9a1b8c2d7e'
const secrets = [testApiKey, apiToken, geminiKey, anthropicKey, copilotKey]
const auth = { authorization: `Bearer ${apiToken}` }
/** Claude Code asks before `env` in acceptEdits mode, and nobody can answer in -p mode. */
const sandboxOf = (agent: string) => (agent === 'claude' ? 'danger-full-access' : 'workspace-write')

/** A warm codex app-server keeps running and removes its per-thread files (shell snapshots) when it likes. */
const vanished = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT'

function filesUnder(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name)
    try {
      if (statSync(file).isDirectory()) filesUnder(file, out)
      else out.push(file)
    } catch (err) {
      if (!vanished(err)) throw err
    }
  }
  return out
}

/** A file's bytes, or '' when the agent removed it after it was listed (nothing of it is left on disk). */
function bytesOf(file: string): string {
  try {
    return readFileSync(file).toString('latin1')
  } catch (err) {
    if (vanished(err)) return ''
    throw err
  }
}

gatewayModules()

describe('secrets never reach commands, events or agent files', () => {
  let mock: MockLlm
  let gw: TestGateway
  beforeAll(async () => {
    mock = await startMockLlm()
    gw = await startGateway(mock, {
      API_TOKENS: apiToken,
      ALLOW_DANGER_FULL_ACCESS: 'true',
      ...mockAgentSettings(mock, { anthropic: anthropicKey, gemini: geminiKey, copilot: copilotKey }),
      // A secret of the operator's own that no agent knows about.
      DEPLOY_SECRET: 'operator-deploy-secret-42',
    })
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
  })

  const runAndRead = async (agent: string, cmd: string) => {
    mock.reset()
    mock.script({ kind: 'exec_command', cmd }, { kind: 'text', text: 'ran it' })
    const res = await fetch(`${gw.url}/v1/runs?wait=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ agent, prompt: 'run the scripted command', sandbox: sandboxOf(agent) }),
    })
    const run = (await res.json()) as Run
    expect(res.status, JSON.stringify(run)).toBe(200)
    const events = (
      await (
        await fetch(`${gw.url}/v1/runs/${run.id}/events`, {
          headers: { accept: 'application/x-ndjson', ...auth },
        })
      ).text()
    )
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as StoredEvent)
    const output = events
      .map((e) =>
        e.type === 'item.completed' && e.item.type === 'command_execution' ? e.item.aggregatedOutput : '',
      )
      .join('')
    return { run, events, output }
  }

  // `env` inside the run shows the command ran (PATH is there) and holds no secret: not even redacted, since
  // the agent never gave it to the command.
  for (const agent of ['codex', 'claude', 'copilot', 'gemini'])
    it(`${agent}: a command's environment carries no secret`, async () => {
      const { run, events, output } = await runAndRead(agent, 'env')
      expect(run.status, JSON.stringify(events)).toBe('succeeded')
      expect(output).toContain('PATH=')
      for (const s of secrets) expect(output).not.toContain(s)
      expect(output).not.toContain('[REDACTED]')
      expect(output).not.toContain('operator-deploy-secret-42')
      expect(output).not.toMatch(
        /^(CODEX_API_KEY|ANTHROPIC_API_KEY|GEMINI_API_KEY|COPILOT_PROVIDER_API_KEY|API_TOKENS)=/m,
      )
      for (const s of secrets) expect(JSON.stringify(events)).not.toContain(s)
    }, 120_000)

  it("neither the store nor any agent's home holds a secret after runs that printed the environment", async () => {
    await runAndRead('codex', 'env; printenv CODEX_API_KEY; echo done')
    const dataFiles = filesUnder(path.join(gw.dir, 'data')).filter(
      (f) => !f.includes(`${path.sep}bin${path.sep}`),
    )
    // codex's home, claude's and copilot's (under HOME) and gemini's.
    // Not codex's own executables (a running app-server keeps links to its binary under tmp/arg0-linux).
    const codexFiles = [gw.env.CODEX_HOME!, gw.env.HOME!, gw.env.GEMINI_CLI_HOME!]
      .flatMap((d) => filesUnder(d))
      .filter((f) => !f.includes(`${path.sep}tmp${path.sep}arg0-linux${path.sep}`))
    expect(dataFiles.some((f) => f.endsWith('.db'))).toBe(true)
    expect(codexFiles.some((f) => f.includes(`${path.sep}sessions${path.sep}`))).toBe(true)
    for (const file of [...dataFiles, ...codexFiles]) {
      const bytes = bytesOf(file)
      for (const s of secrets) expect(bytes.includes(s), `${s} in ${file}`).toBe(false)
    }
  })
  it('a secret a command prints anyway is redacted before it is stored or sent', async () => {
    const { run, events, output } = await runAndRead('codex', `echo leaked-${testApiKey}-and-${apiToken}`)
    expect(run.status).toBe('succeeded')
    expect(output).toContain('leaked-[REDACTED]-and-[REDACTED]')
    for (const s of secrets) expect(JSON.stringify(events)).not.toContain(s)
    // The command line itself (the model wrote the key into it) is redacted too.
    const started = events.find((e) => e.type === 'item.started' && e.item.type === 'command_execution')
    expect(JSON.stringify(started)).toContain('[REDACTED]')
  })
})
