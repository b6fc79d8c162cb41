import { describe, expect, it } from 'vitest'
import { claudeArgs } from '../../src/agents/claude/command.js'
import { CliDriver } from '../../src/agents/cli/driver.js'
import { loadConfig } from '../../src/config/load.js'
import { localRunner } from '../../src/process/local-runner.js'
import { notStarted } from '../../src/process/not-started.js'
import type { LaunchSpec, ProcessRunner } from '../../src/process/runner.js'
import { collect } from '../contract/driver-contract.js'
import { tempDir } from '../support/temp.js'

// Claude Code's WebFetch asks api.anthropic.com about each domain before fetching it unless its settings say
// skipWebFetchPreflight: the gateway gives its claude processes that in their flag settings (`--settings`), unless
// CLAUDE_WEBFETCH_PREFLIGHT. The real CLI's behaviour with it: claude-driver.test.ts and acp-driver.test.ts.
const skip = ['--settings', '{"skipWebFetchPreflight":true}']

const config = (env: Record<string, string> = {}) => loadConfig(env, tempDir('webfetch-'))

/** The argv claude on POST /run is started with (the runner records it and starts nothing). */
async function runArgs(env: Record<string, string> = {}): Promise<string[]> {
  const started: LaunchSpec[] = []
  const recording: ProcessRunner = Object.assign(Object.create(localRunner) as ProcessRunner, {
    start: (spec: LaunchSpec) => {
      started.push(spec)
      return notStarted('recorded only')
    },
  })
  const driver = new CliDriver(config(env), process.env, recording)
  const raw = { cli: 'claude', args: ['-p', 'hi'] }
  await collect(driver.run({ prompt: '', cwd: tempDir('webfetch-ws-'), raw }, new AbortController().signal))
  expect(started).toHaveLength(1)
  return started[0]!.args
}

describe('CLAUDE_WEBFETCH_PREFLIGHT', () => {
  it('is off by default: claude and claude on /run get skipWebFetchPreflight as flag settings', async () => {
    expect(config().CLAUDE_WEBFETCH_PREFLIGHT).toBe(false)
    const args = claudeArgs({ sandbox: 'read-only' })
    expect(args.slice(args.indexOf('--settings'), args.indexOf('--settings') + 2)).toEqual(skip)
    const run = await runArgs()
    expect(run.slice(run.indexOf('--settings'), run.indexOf('--settings') + 2)).toEqual(skip)
    expect(run.slice(-2)).toEqual(['-p', 'hi'])
  })

  it('on: no --settings from the gateway', async () => {
    expect(config({ CLAUDE_WEBFETCH_PREFLIGHT: 'true' }).CLAUDE_WEBFETCH_PREFLIGHT).toBe(true)
    expect(claudeArgs({ sandbox: 'read-only', webFetchPreflight: true })).not.toContain('--settings')
    expect(await runArgs({ CLAUDE_WEBFETCH_PREFLIGHT: 'true' })).not.toContain('--settings')
  })
})
