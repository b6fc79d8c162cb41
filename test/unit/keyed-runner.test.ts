import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { acpPreset } from '../../src/agents/acp/agent-spec.js'
import { acpLaunch } from '../../src/agents/acp/launch.js'
import { claudeEnv } from '../../src/agents/claude/command.js'
import { codexEnv, codexProviderArgs } from '../../src/agents/codex/provider-args.js'
import { copilotEnv } from '../../src/agents/copilot/env.js'
import { modelUpstreams } from '../../src/agents/model-upstreams.js'
import { loadConfig } from '../../src/config/load.js'
import { collectOutput } from '../../src/process/collect-output.js'
import { KeyProxy } from '../../src/process/key-proxy/key-proxy.js'
import { KeyedRunner } from '../../src/process/key-proxy/keyed-runner.js'
import { modelKeyPlaceholder, modelUrlPlaceholder } from '../../src/process/key-proxy/model-access.js'
import { localRunner } from '../../src/process/local-runner.js'
import type { LaunchSpec, ProcessRunner, RunningProcess } from '../../src/process/runner.js'
import { Redactor } from '../../src/process/secrets.js'
import { serverEnvWithKeys } from '../support/secret-env.js'
import { tempDir } from '../support/temp.js'

/**
 * The runner that lends keys: placeholders become a token of the process's own and the proxy's URL, the token
 * dies with the process; a container launch gets the real key and URL (it cannot reach the host's loopback).
 * And the drivers' launches under it hold placeholders, never a real key.
 */
const dir = tempDir('keyed-runner-')
const serverEnv = serverEnvWithKeys(dir, {
  ANTHROPIC_BASE_URL: 'http://127.0.0.1:9',
  GEMINI_API_KEY: 'gemini-secret-key-3a4b5c6d',
  COPILOT_PROVIDER_BASE_URL: 'http://127.0.0.1:9/v1',
  COPILOT_PROVIDER_API_KEY: 'copilot-secret-key-7e8f9a0b',
})
const config = loadConfig(serverEnv, dir)
const realKeys = [
  serverEnv.CODEX_API_KEY,
  serverEnv.OPENAI_API_KEY,
  serverEnv.ANTHROPIC_API_KEY,
  serverEnv.COPILOT_PROVIDER_API_KEY,
]

describe('KeyedRunner', () => {
  let proxy: KeyProxy
  const redactor = new Redactor([])
  beforeAll(async () => {
    proxy = await KeyProxy.start(modelUpstreams(config, serverEnv), {
      onToken: (t, live) => (live ? redactor.add(t) : redactor.remove(t)),
    })
  })
  afterAll(async () => {
    await proxy?.close()
  })

  const spec = (over: Partial<LaunchSpec> = {}): LaunchSpec => ({
    command: '/bin/sh',
    args: ['-c', 'printf "%s %s %s" "$KEY" "$URL" "$1"', 'sh', `${modelKeyPlaceholder('anthropic')}`],
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      KEY: modelKeyPlaceholder('anthropic'),
      URL: modelUrlPlaceholder('anthropic'),
    },
    killGraceMs: 500,
    ...over,
  })

  it('gives a local process a token of its own and the proxy URL, and revokes the token when it ended', async () => {
    const runner = new KeyedRunner(localRunner, proxy)
    const before = proxy.liveTokens
    const { outcome, text: stdout } = await collectOutput(runner, spec())
    expect(outcome.exitCode).toBe(0)
    const [key, url, arg] = stdout.split(' ')
    expect(key).toMatch(/^agp-[A-Za-z0-9_-]{43}$/)
    expect(arg).toBe(key)
    expect(url).toBe(proxy.url('anthropic'))
    expect(redactor.text(`k=${key}`)).toBe(`k=${key}`)
    expect(proxy.liveTokens).toBe(before)
    const res = await fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key ?? '' },
      body: '{}',
    })
    expect(res.status).toBe(401)
  })

  it("starts the proxy's thread with the first launch that needs it; the token works for the process's first call", async () => {
    const lazy = KeyProxy.create(modelUpstreams(config, serverEnv))
    try {
      const runner = new KeyedRunner(localRunner, lazy)
      const plain = await collectOutput(runner, {
        ...spec(),
        args: ['-c', 'printf plain'],
        env: { PATH: process.env.PATH },
      })
      expect(plain.text).toBe('plain')
      expect(lazy.isReady).toBe(false)
      // the agent's first call, at once: its upstream (127.0.0.1:9) is down, so a live token gets 502, a dead one 401
      const { outcome, text } = await collectOutput(runner, {
        ...spec(),
        command: process.execPath,
        args: [
          '-e',
          `fetch(process.env.URL + '/v1/messages', { method: 'POST', headers: { 'x-api-key': process.env.KEY }, body: '{}' })
            .then((r) => process.stdout.write(String(r.status)), (e) => process.stdout.write(e.message))`,
        ],
      })
      expect(outcome.exitCode).toBe(0)
      expect(text).toBe('502')
      expect(lazy.isReady).toBe(true)
      expect(lazy.liveTokens).toBe(0)
    } finally {
      await lazy.close()
    }
  })

  it('fails a launch clearly when the proxy cannot start (spawn_failed, nothing run)', async () => {
    const broken = KeyProxy.create([{ provider: 'anthropic', url: 'not a url', key: 'k-0123456789' }])
    try {
      const { outcome, text } = await collectOutput(new KeyedRunner(localRunner, broken), spec())
      expect(outcome.reason).toBe('spawn_failed')
      expect(outcome.error).toMatch(/the key proxy could not start/)
      expect(text).toBe('')
      expect(broken.liveTokens).toBe(0)
    } finally {
      await broken.close()
    }
  })

  it('redacts a token while its process lives', async () => {
    const runner = new KeyedRunner(localRunner, proxy)
    const proc = runner.start({
      ...spec(),
      args: ['-c', 'printf "%s" "$KEY"; read -r _'],
      stdin: { keepOpen: true },
    })
    const key = await new Promise<string>((resolve) => proc.stdout.once('data', (c) => resolve(String(c))))
    expect(redactor.text(`k=${key}`)).toBe('k=[REDACTED]')
    proc.stdin.end('\n')
    await proc.done
    expect(redactor.text(`k=${key}`)).toBe(`k=${key}`)
  })

  // what claude-agent-acp is authenticated with at the proxy (acp/proxy-authentication.ts)
  it('says what it lent a process: the token and URL of its launch, none for a provider it did not name', async () => {
    const runner = new KeyedRunner(localRunner, proxy)
    const proc = runner.start({
      ...spec(),
      args: ['-c', 'printf "%s %s" "$KEY" "$URL"; read -r _'],
      stdin: { keepOpen: true },
    })
    const [key, url] = (
      await new Promise<string>((resolve) => proc.stdout.once('data', (c) => resolve(String(c))))
    ).split(' ')
    expect(proc.lent?.('anthropic')).toEqual({ token: key, url })
    expect(proc.lent?.('openai')).toBeUndefined()
    proc.stdin.end('\n')
    await proc.done
  })

  it('reaches the proxy directly when the env names an HTTP proxy (127.0.0.1 added to NO_PROXY)', async () => {
    const runner = new KeyedRunner(localRunner, proxy)
    const { text } = await collectOutput(runner, {
      ...spec(),
      args: ['-c', 'printf "%s|%s" "$NO_PROXY" "$no_proxy"'],
      env: { ...spec().env, HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: 'internal.example' },
    })
    expect(text).toBe('internal.example,127.0.0.1|internal.example,127.0.0.1')
  })

  it('fronts every provider behind an HTTP egress proxy, none behind one it cannot use (SOCKS)', () => {
    const all = ['openai', 'anthropic', 'gemini', 'copilot']
    expect(modelUpstreams(config, serverEnv).map((u) => u.provider)).toEqual(all)
    const behind = { ...serverEnv, HTTPS_PROXY: 'http://egress.example:3128' }
    expect(modelUpstreams(config, behind).map((u) => u.provider)).toEqual(all)
    expect(modelUpstreams(config, { ...serverEnv, ALL_PROXY: 'socks5://egress.example:1080' })).toEqual([])
  })

  it('gives a container launch the real key and upstream URL (the old path)', () => {
    let got: LaunchSpec | undefined
    const recording: ProcessRunner = {
      kind: 'local',
      start: (s) => {
        got = s
        return { done: new Promise(() => {}) } as unknown as RunningProcess
      },
      reclaim: async () => false,
      describe: async () => ({ kind: 'local', available: true }),
    }
    new KeyedRunner(recording, proxy).start(spec({ isolation: 'container' }))
    expect(got?.env.KEY).toBe(serverEnv.ANTHROPIC_API_KEY)
    expect(got?.env.URL).toBe(serverEnv.ANTHROPIC_BASE_URL)
    // it lent it nothing: nothing to authenticate a claude-agent-acp with (it has the key itself)
    expect(
      new KeyedRunner(recording, proxy).start(spec({ isolation: 'container' })).lent?.('anthropic'),
    ).toBeUndefined()
    // a request's own text spelling a placeholder (without the process's random part) is left as it is
    const written = '{{model-key:anthropic}} {{model-url:anthropic}}'
    new KeyedRunner(recording, proxy).start(
      spec({ isolation: 'container', args: [written], env: { KEY: written } }),
    )
    expect(got?.args).toEqual([written])
    expect(got?.env.KEY).toBe(written)
  })

  it("drivers' launches under it hold placeholders, never a real key (codex, claude, copilot, codex-acp, claude-agent-acp)", () => {
    const runner = new KeyedRunner(localRunner, proxy)
    const codex = { env: codexEnv(config, serverEnv, runner), args: codexProviderArgs(config, runner) }
    expect(codex.env.CODEX_API_KEY).toBe(modelKeyPlaceholder('openai'))
    expect(codex.env.OPENAI_API_KEY).toBeUndefined()
    expect(codex.args.join(' ')).toContain(`base_url=${JSON.stringify(modelUrlPlaceholder('openai'))}`)
    const claude = claudeEnv(config, serverEnv, 'read-only', runner)
    expect(claude.ANTHROPIC_API_KEY).toBe(modelKeyPlaceholder('anthropic'))
    expect(claude.ANTHROPIC_BASE_URL).toBe(modelUrlPlaceholder('anthropic'))
    const acp = (name: 'codex-acp' | 'claude-agent-acp') => {
      const preset = acpPreset(name)
      return acpLaunch({ ...preset, command: preset.command ?? '/bin/true' }, config, serverEnv, {
        cwd: dir,
        access: runner,
      })
    }
    const copilot = copilotEnv(config, serverEnv, false, runner)
    expect(copilot.COPILOT_PROVIDER_API_KEY).toBe(modelKeyPlaceholder('copilot'))
    expect(copilot.COPILOT_PROVIDER_BASE_URL).toBe(modelUrlPlaceholder('copilot'))
    const launches = [
      codex,
      { env: claude, args: [] },
      { env: copilot, args: [] },
      acp('codex-acp'),
      acp('claude-agent-acp'),
    ]
    for (const launch of launches) {
      const text = JSON.stringify(launch)
      for (const key of realKeys) expect(text).not.toContain(key)
    }
    // claude-agent-acp is authenticated at the proxy, and what its Claude Code then holds the token in is kept from
    // its commands (acp/proxy-authentication.ts); not codex-acp
    const claudeAcp = acp('claude-agent-acp')
    expect(claudeAcp.proxyAuthentication).toBe('anthropic')
    expect(claudeAcp.env.AGW_SCRUB_ENV?.split(' ')).toEqual(
      expect.arrayContaining(['ANTHROPIC_API_KEY', 'ANTHROPIC_CUSTOM_HEADERS', 'ANTHROPIC_AUTH_TOKEN']),
    )
    expect(acp('codex-acp').proxyAuthentication).toBeUndefined()
  })
})
