import { spawnSync } from 'node:child_process'
import { chmodSync, closeSync, constants, mkdirSync, openSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ClaudeDriver } from '../../src/agents/claude/driver.js'
import { packageVersionOf } from '../../src/agents/cli-version.js'
import { CopilotDriver } from '../../src/agents/copilot/driver.js'
import { GeminiDriver } from '../../src/agents/gemini/driver.js'
import { loadConfig } from '../../src/config/load.js'
import { localRunner } from '../../src/process/local-runner.js'
import type { LaunchSpec, ProcessRunner } from '../../src/process/runner.js'
import { gatewayEnv, gatewayModules, startGateway } from '../support/gateway.js'
import { tempDir } from '../support/temp.js'

// Agent probes: the pinned npm CLIs get their version from their package.json (no process), and GET /health
// never waits for a probe that is still running: it says `checking`, then the real result once it answered.

const require = createRequire(import.meta.url)
const versionOf = (pkg: string) => (require(`${pkg}/package.json`) as { version: string }).version

interface AgentHealth {
  id: string
  state: string
  installed: boolean | null
  authenticated: boolean | null
  version: string | null
}

async function agentHealth(url: string, id: string): Promise<AgentHealth | undefined> {
  const res = await fetch(`${url}/health`)
  expect(res.status).toBe(200)
  const body = (await res.json()) as { status: string; agents: AgentHealth[] }
  expect(body.status).toBe('healthy')
  return body.agents.find((a) => a.id === id)
}

gatewayModules()

describe('agent probes', () => {
  it('the pinned gemini, claude and copilot report their package version without starting a process', async () => {
    const started: string[] = []
    const recording: ProcessRunner = {
      kind: localRunner.kind,
      start: (spec: LaunchSpec) => {
        started.push(spec.command)
        return localRunner.start(spec)
      },
      reclaim: (leftover) => localRunner.reclaim(leftover),
      describe: () => localRunner.describe(),
    }
    const { env, dir } = gatewayEnv(null)
    const config = loadConfig(env, dir)
    const gemini = await new GeminiDriver(config, env, recording).probe()
    const claude = await new ClaudeDriver(config, env, recording).probe()
    const copilot = await new CopilotDriver(config, env, { runner: recording }).probe()
    expect(gemini).toMatchObject({ installed: true, version: versionOf('@google/gemini-cli') })
    expect(claude).toMatchObject({ installed: true, version: versionOf('@anthropic-ai/claude-code') })
    expect(copilot).toMatchObject({ installed: true, version: versionOf('@github/copilot') })
    expect(started).toEqual([])
    // the version is the one the binary itself prints
    const printed = spawnSync(claude.binary!, ['--version'], { encoding: 'utf8' }).stdout
    expect(printed).toContain(claude.version)
  })

  it('packageVersionOf reads the nearest package.json above the binary, only for the named packages', () => {
    const pkg = tempDir('pkg-')
    mkdirSync(path.join(pkg, 'bin', 'x64'), { recursive: true })
    writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: '@acme/cli', version: '3.4.5' }))
    const binary = path.join(pkg, 'bin', 'x64', 'cli')
    writeFileSync(binary, '')
    expect(packageVersionOf(binary, ['@acme/cli'])).toBe('3.4.5')
    expect(packageVersionOf(binary, ['@acme/other'])).toBeNull()
    expect(packageVersionOf(binary, [])).toBeNull()
    // a nearer package.json of another package stops the walk: it is not the pinned one
    writeFileSync(
      path.join(pkg, 'bin', 'package.json'),
      JSON.stringify({ name: 'wrapper', version: '1.0.0' }),
    )
    expect(packageVersionOf(binary, ['@acme/cli'])).toBeNull()
  })

  it('GET /health answers while a probe runs, reports it as checking, then reports its result', async () => {
    // A configured claude (not the pinned package: probed with --version) whose --version waits on a FIFO.
    const dir = tempDir('slow-probe-')
    const fifo = path.join(dir, 'release')
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0)
    const claude = path.join(dir, 'claude')
    writeFileSync(claude, `#!/bin/sh\nread line < '${fifo}'\necho "9.8.7 (Claude Code)"\n`)
    chmodSync(claude, 0o755)
    const gw = await startGateway(null, {
      CLAUDE_PATH: claude,
      AGENTS: 'claude',
      ANTHROPIC_API_KEY: 'sk-ant-test-0123456789',
    })
    let released = false
    try {
      expect(await agentHealth(gw.url, 'claude')).toEqual({
        id: 'claude',
        state: 'checking',
        installed: null,
        authenticated: null,
        version: null,
      })
      // codex (pinned, native) is reported too, whatever its probe's progress
      expect((await agentHealth(gw.url, 'codex'))?.state).toMatch(/^(checking|ready|not_authenticated)$/)
      await release(fifo)
      released = true
      // the probe that was running is the one the gateway started at boot: waiting on it, not on a timer
      await gw.ctx.registry.get('claude').probe()
      expect(await agentHealth(gw.url, 'claude')).toEqual({
        id: 'claude',
        state: 'ready',
        installed: true,
        authenticated: true,
        version: '9.8.7',
      })
    } finally {
      if (!released) await release(fifo).catch(() => {})
      await gw.close()
    }
  })
})

/**
 * Ends the probe's wait: once its shell holds the FIFO open for reading (until then a non-blocking open for
 * writing fails with ENXIO), writes a line to it.
 */
async function release(fifo: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK)
      writeFileSync(fd, 'go\n')
      closeSync(fd)
      return
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw err
      if (Date.now() > deadline) throw new Error(`nothing opened ${fifo} for reading`)
    }
    await new Promise((r) => setTimeout(r, 10))
  }
}
