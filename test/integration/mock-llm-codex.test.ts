import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runAppServerTurn } from '../mock-llm/codex-app-server-turn.js'
import { type CodexExecResult, CodexSandbox, codexBin } from '../mock-llm/codex-sandbox.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'

// The real codex CLI against the mock model server: no network beyond 127.0.0.1, no API key.

const CODEX_TIMEOUT = 30_000

let mock: MockLlm
let sandbox: CodexSandbox

beforeEach(async () => {
  mock = await startMockLlm()
  sandbox = await CodexSandbox.create(mock.baseUrl)
})

afterEach(async () => {
  await sandbox.dispose()
  await mock.close()
})

function itemsOfType(run: CodexExecResult, type: string) {
  return run.events
    .filter((event) => event.type === 'item.completed')
    .map((event) => event.item as Record<string, unknown>)
    .filter((item) => item.type === type)
}

function describeRun(run: CodexExecResult): string {
  return `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`
}

describe.skipIf(!existsSync(codexBin))('mock-llm with the real codex CLI', () => {
  it(
    'text: codex prints the scripted answer and the request carries the prompt',
    async () => {
      mock.on('say hello', { kind: 'text', text: 'Hello from the mock!' })
      const run = await sandbox.exec('please say hello')
      expect(run.code, describeRun(run)).toBe(0)
      expect(itemsOfType(run, 'agent_message').map((item) => item.text)).toEqual(['Hello from the mock!'])
      expect(mock.requests).toHaveLength(1)
      const [request] = mock.requests
      expect(mock.lastUserText(request!)).toBe('please say hello')
      expect(request!.headers['session-id']).toEqual(expect.any(String))
    },
    CODEX_TIMEOUT,
  )

  it(
    'deltas: codex exec reports the final message; the app-server streams each delta',
    async () => {
      const text = 'Streaming words arrive one by one.'
      mock.script({ kind: 'text', text, deltas: true }, { kind: 'text', text, deltas: true })
      const run = await sandbox.exec('stream please')
      expect(run.code, describeRun(run)).toBe(0)
      expect(itemsOfType(run, 'agent_message').map((item) => item.text)).toEqual([text])

      const notifications = await runAppServerTurn(sandbox, 'stream please')
      const deltas = notifications
        .filter((n) => n.method === 'item/agentMessage/delta')
        .map((n) => n.params.delta as string)
      expect(deltas.length).toBeGreaterThan(1)
      expect(deltas.join('')).toBe(text)
      const completed = notifications.filter((n) => n.method === 'item/completed')
      expect(completed.map((n) => (n.params.item as { text?: string }).text)).toContain(text)
    },
    CODEX_TIMEOUT,
  )

  it(
    'exec_command: codex really runs the command, then the next step answers the tool result',
    async () => {
      mock.on(
        'make a file',
        { kind: 'exec_command', cmd: 'echo made-by-codex > made.txt && echo wrote it' },
        (ctx) => ({ kind: 'text', text: `tool output seen: ${ctx.lastToolOutput?.includes('wrote it')}` }),
      )
      const run = await sandbox.exec('make a file please')
      expect(run.code, describeRun(run)).toBe(0)
      expect(await readFile(join(sandbox.workdir, 'made.txt'), 'utf8')).toBe('made-by-codex\n')
      const [command] = itemsOfType(run, 'command_execution')
      expect(command).toMatchObject({ status: 'completed', exit_code: 0 })
      expect(command!.command).toContain('echo made-by-codex > made.txt')
      expect(itemsOfType(run, 'agent_message').map((item) => item.text)).toEqual(['tool output seen: true'])
      expect(mock.requests).toHaveLength(2)
      // Both requests belong to the same codex session.
      expect(mock.requests[1]!.headers['session-id']).toBe(mock.requests[0]!.headers['session-id'])
    },
    CODEX_TIMEOUT,
  )

  it(
    'apply_patch: codex creates the file with the patched contents',
    async () => {
      const patch =
        '*** Begin Patch\n*** Add File: notes/hello.txt\n+first line\n+second line\n*** End Patch\n'
      mock.script({ kind: 'apply_patch', patch }, { kind: 'text', text: 'patched' })
      const run = await sandbox.exec('patch something')
      expect(run.code, describeRun(run)).toBe(0)
      expect(await readFile(join(sandbox.workdir, 'notes/hello.txt'), 'utf8')).toBe(
        'first line\nsecond line\n',
      )
      expect(itemsOfType(run, 'file_change')[0]).toMatchObject({ status: 'completed' })
      const tools = (mock.requests[0]!.body as { tools: Array<{ name?: string; type: string }> }).tools
      expect(tools.find((tool) => tool.name === 'apply_patch')?.type).toBe('custom')
      const followUp = mock.requests[1]!.body as { input: Array<{ type: string; output?: string }> }
      expect(followUp.input.find((item) => item.type === 'custom_tool_call_output')?.output).toContain(
        'Success',
      )
    },
    CODEX_TIMEOUT,
  )

  it(
    'http_error: codex exits non-zero and reports the error',
    async () => {
      const body = JSON.stringify({ error: { message: 'mock says no', type: 'invalid_request_error' } })
      mock.script({ kind: 'http_error', status: 400, body })
      const run = await sandbox.exec('fail please')
      expect(run.code, describeRun(run)).not.toBe(0)
      const error = run.events.find((event) => event.type === 'error')
      expect(error?.message).toContain('mock says no')
      expect(run.events.some((event) => event.type === 'turn.failed')).toBe(true)
      expect(mock.requests).toHaveLength(1)
    },
    CODEX_TIMEOUT,
  )

  it(
    'drop: codex reports a stream error and exits non-zero',
    async () => {
      mock.script({ kind: 'drop' })
      const run = await sandbox.exec('drop please')
      expect(run.code, describeRun(run)).not.toBe(0)
      const error = run.events.find((event) => event.type === 'error')
      expect(error?.message).toMatch(/stream disconnected before completion/)
      expect(run.events.some((event) => event.type === 'turn.failed')).toBe(true)
    },
    CODEX_TIMEOUT,
  )

  it(
    'slow: codex waits out delayMs and still succeeds',
    async () => {
      mock.script({ kind: 'text', text: 'finally', deltas: true, delayMs: 1_500, chunkDelayMs: 50 })
      const run = await sandbox.exec('take your time')
      expect(run.code, describeRun(run)).toBe(0)
      expect(run.durationMs).toBeGreaterThanOrEqual(1_500)
      expect(itemsOfType(run, 'agent_message').map((item) => item.text)).toEqual(['finally'])
    },
    CODEX_TIMEOUT,
  )
})
