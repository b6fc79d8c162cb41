import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { beforeAll, describe, expect, it } from 'vitest'
import { startMockLlm } from '../mock-llm/index.js'
import { builtIsCurrent, builtMain } from '../support/built-server.js'
import { gatewayEnv, testApiKey } from '../support/gateway.js'

const root = path.resolve(import.meta.dirname, '../..')
const bin = builtMain
const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string })
  .version

/** `npm ci` builds dist/ (prepare); a checkout edited since gets it rebuilt here, so the test runs today's code. */
function ensureBuilt(): void {
  if (builtIsCurrent()) return
  execFileSync(
    process.execPath,
    [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  )
}

/** Runs the built command to its end (no tsx, no dev tools: plain node on dist/). */
function cli(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', timeout: 30_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Starts `agent-gateway serve` from dist/ and resolves with its first output lines once it listens. */
function serve(
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ child: ChildProcess; lines: string[]; url: string }> {
  const child = spawn(process.execPath, [bin, 'serve'], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`did not start:\n${lines.join('\n')}`))
    }, 30_000)
    for (const stream of [child.stdout!, child.stderr!])
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line)
        const url = /listening on (http:\/\/[\d.:]+)/.exec(line)?.[1]
        if (url) {
          clearTimeout(timer)
          resolve({ child, lines, url })
        }
      })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`exited ${code}:\n${lines.join('\n')}`))
    })
  })
}

const stop = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code))
    child.kill('SIGTERM')
  })

/** The built `agent-gateway` command as an operator runs it. */
describe('agent-gateway (built)', () => {
  beforeAll(() => ensureBuilt(), 300_000)

  it('without a command prints a usage line and exits 2; --help, --version and serve --help answer', {
    timeout: 120_000,
  }, () => {
    const bare = cli([])
    expect(bare.code).toBe(2)
    expect(bare.stderr.trim().split('\n')).toHaveLength(1)
    expect(bare.stderr).toMatch(/^usage: agent-gateway <serve[^>]*> \[options\]/)

    const help = cli(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/commands:\n\s+serve\s+start the HTTP server/)
    expect(cli(['serve', '--help']).stdout).toMatch(/usage: agent-gateway serve/)

    const v = cli(['--version'])
    expect(v).toMatchObject({ code: 0, stdout: `${version}\n` })

    const unknown = cli(['frobnicate'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/)
    const badFlag = cli(['serve', '--bogus'])
    expect(badFlag.code).toBe(2)
    expect(badFlag.stderr).toMatch(/--bogus.*see --help/)
    // a port given without its flag (`npm start 9000`): one line, not a stack
    const positional = cli(['serve', '9000'])
    expect(positional.code).toBe(2)
    expect(positional.stderr.trim().split('\n'), positional.stderr).toEqual([
      "agent-gateway: Unexpected argument '9000'. This command does not take positional arguments (see --help)",
    ])
  })

  it('a port in use is one line saying what to do, exit 1', async () => {
    const blocker = net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as net.AddressInfo).port
    try {
      const { env, dir } = gatewayEnv(null, { PORT: String(port), LOG_LEVEL: 'info' })
      const r = spawnSync(process.execPath, [bin, 'serve'], {
        env,
        cwd: dir,
        encoding: 'utf8',
        timeout: 30_000,
      })
      expect(r.status).toBe(1)
      const errorLines = r.stderr.trim().split('\n')
      expect(errorLines).toEqual([
        `agent-gateway: port ${port} on 127.0.0.1 is already in use: stop whatever listens there, or set PORT to a free port (PORT=0 picks one)`,
      ])
    } finally {
      blocker.close()
    }
  })

  it('serve logs JSON when not on a terminal, starting with where the server and its docs are', async () => {
    const { env, dir } = gatewayEnv(null, { LOG_LEVEL: 'info' })
    const { child, lines, url } = await serve(env, dir)
    try {
      // one line says where it listens, the gateway's (Fastify's own "Server listening at" is not written)
      const listening = lines.filter((l) => /listening/i.test(l))
      expect(listening, lines.join('\n')).toHaveLength(1)
      const first = JSON.parse(listening[0]!) as Record<string, unknown>
      expect(first).toMatchObject({ url, docs: `${url}/docs`, openapi: `${url}/openapi.json` })
      expect(first.msg).toBe(`agent-gateway listening on ${url} (docs: ${url}/docs)`)
      expect((await fetch(`${url}/docs`)).status).toBe(200)
    } finally {
      expect(await stop(child)).toBe(0)
    }
  })

  it('LOG_FORMAT=pretty gives readable lines (what a terminal gets by default)', async () => {
    const { env, dir } = gatewayEnv(null, { LOG_LEVEL: 'info', LOG_FORMAT: 'pretty' })
    const { child, lines, url } = await serve(env, dir)
    try {
      const line = lines.find((l) => l.includes('agent-gateway listening'))!
      expect(line).toMatch(/INFO.*agent-gateway listening on http/)
      expect(lines.filter((l) => /listening/i.test(l))).toEqual([line])
      expect(() => JSON.parse(line)).toThrow()
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    } finally {
      expect(await stop(child)).toBe(0)
    }
  })

  it('runs codex through the built server: the key proxy thread loads from dist and gives the model the key', {
    timeout: 120_000,
  }, async () => {
    const mock = await startMockLlm()
    const { env, dir } = gatewayEnv(mock, { LOG_LEVEL: 'info' })
    const { child, url } = await serve(env, dir)
    try {
      mock.script({ kind: 'text', text: 'built and keyed' })
      const res = await fetch(`${url}/v1/runs?wait=true`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'say it', sandbox: 'read-only' }),
      })
      const run = (await res.json()) as { status: string; finalResponse: string | null; error?: unknown }
      expect(run, JSON.stringify(run)).toMatchObject({
        status: 'succeeded',
        finalResponse: 'built and keyed',
      })
      // the agent had a token of the proxy's; the model got the real key, from the proxy's thread
      const keys = mock.requests.map((r) => String(r.headers.authorization ?? ''))
      expect(keys.length).toBeGreaterThan(0)
      expect(keys.every((k) => k === `Bearer ${testApiKey}`)).toBe(true)
    } finally {
      expect(await stop(child)).toBe(0)
      await mock.close()
    }
  })
})
