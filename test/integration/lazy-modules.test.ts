import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { startMockLlm } from '../mock-llm/index.js'
import { ensureConsoleBuilt } from '../support/browser.js'
import { gatewayEnv, testApiKey } from '../support/gateway.js'
import { tempDir } from '../support/temp.js'

// The server's start does not load what only some requests need; each is loaded on its first use and works.
// Checked in a fresh Node process (what `agent-gateway serve` is), by the npm packages it has loaded.

const root = path.resolve(import.meta.dirname, '../..')
const tsxLoader = import.meta.resolve('tsx')

/**
 * Lazily loaded: prom-client (and @opentelemetry/api) on the first metric, ajv on the first outputSchema, pg on
 * DATABASE_URL, the ACP SDK (an ES module) with the first ACP agent process, the OpenAPI document and Swagger UI
 * (and what they need) with the first request for /openapi.json or /docs, the console's files with the first
 * request for one, an ACP driver's engine (agents/acp/engine.ts: its sessions, pools and runs) with its first run,
 * the codex driver's app-server engine (agents/codex/app-server-engine.ts: app-server, threads, warm runs) with its
 * first warm run or session.
 */
const docsPackages = ['@fastify/swagger', '@fastify/swagger-ui', 'yaml', 'json-schema-resolver']
/** The console's static files (@fastify/static, and glob which it loads) come with the first request for one. */
const consolePackages = ['@fastify/static', 'glob']
const lazy = [
  'prom-client',
  '@opentelemetry/api',
  'ajv',
  'pg',
  'pg-boss',
  '@agentclientprotocol/sdk',
  ...docsPackages,
]

// CommonJS files are in require.cache; ES modules are seen by a resolve hook that reports each URL it resolved.
const childScript = `
import { createRequire, register } from 'node:module'
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads'
const require = createRequire(import.meta.url)
const { port1, port2 } = new MessageChannel()
const hooks = 'let port; export function initialize(data) { port = data.port } ' +
  'export async function resolve(specifier, context, next) { const r = await next(specifier, context); port.postMessage(r.url); return r }'
register('data:text/javascript,' + encodeURIComponent(hooks), { data: { port: port2 }, transferList: [port2] })
const esm = new Set()
const loaded = () => {
  for (let m = receiveMessageOnPort(port1); m; m = receiveMessageOnPort(port1)) esm.add(m.message)
  const names = new Set()
  for (const file of [...Object.keys(require.cache), ...esm]) {
    const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\/[^]*$/.exec(file.slice(file.lastIndexOf('node_modules/')))
    if (m) names.add(m[1])
  }
  return [...names].sort()
}
// session-leases.ts: the engine's (an idle start loaded it with the driver before the engine was split off)
const acpEngineLoaded = () => { loaded(); return [...esm].some((u) => u.endsWith('/agents/acp/session-leases.ts')) }
// the ACP launch (acp/launch.ts) comes with the engine, not with the ACP probe
const acpLaunchLoaded = () => { loaded(); return [...esm].some((u) => u.endsWith('/agents/acp/launch.ts')) }
// app-server-host.ts, the codex app-server engine's (the codex driver loaded it at start before)
// stream-events.ts, claude's output mapper, loaded with its first run (claude/driver.ts runCode)
const claudeRunCodeLoaded = () => { loaded(); return [...esm].some((u) => u.endsWith('/agents/claude/stream-events.ts')) }
const codexEngineLoaded = () => { loaded(); return [...esm].some((u) => u.endsWith('/agents/codex-app-server/app-server-host.ts')) }
const { startServer } = await import(process.env.SERVER_MODULE)
const server = await startServer({ logger: false })
const report = {}
try {
  const health = await fetch(server.url + '/health')
  report.health = health.status
  await health.text()
  report.idle = loaded()
  report.acpEngineIdle = acpEngineLoaded()
  report.acpLaunchIdle = acpLaunchLoaded()
  report.codexEngineIdle = codexEngineLoaded()
  report.claudeRunCodeIdle = claudeRunCodeLoaded()
  const metrics = await fetch(server.url + '/metrics')
  report.metricsStatus = metrics.status
  report.metrics = await metrics.text()
  report.afterMetrics = loaded()
  const { compileOutputSchema } = await import(process.env.OUTPUT_SCHEMA_MODULE)
  const check = compileOutputSchema({ type: 'object', required: ['a'] })
  report.matched = check({ type: 'run.completed', status: 'succeeded', finalResponse: '{"a":1}' }).result
  report.refused = check({ type: 'run.completed', status: 'succeeded', finalResponse: '{}' }).error
  report.afterSchema = loaded()
  const { loadAcpSdk, acpSdk } = await import(process.env.ACP_SDK_MODULE)
  report.sdkBeforeLoad = (() => { try { acpSdk(); return 'loaded' } catch (err) { return err.message } })()
  report.protocolVersion = (await loadAcpSdk()).PROTOCOL_VERSION
  report.afterAcp = loaded()
  const page = await fetch(server.url + '/')
  report.consoleStatus = page.status
  report.console = await page.text()
  report.afterConsole = loaded()
  const openapi = await fetch(server.url + '/openapi.json')
  report.openapiStatus = openapi.status
  report.openapiPaths = Object.keys((await openapi.json()).paths ?? {})
  const ui = await fetch(server.url + '/docs/')
  report.uiStatus = ui.status
  report.ui = await ui.text()
  report.afterDocs = loaded()
  // the first run of an ACP agent loads its engine: the run answers as before
  const run = await fetch(server.url + '/v1/runs?wait=true', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ agent: 'acp:codex-acp', prompt: 'say it', sandbox: 'workspace-write' }),
  })
  report.acpRunStatus = run.status
  report.acpRun = await run.json()
  report.acpEngineAfterRun = acpEngineLoaded()
  report.acpLaunchAfterRun = acpLaunchLoaded()
  report.codexEngineAfterAcpRun = codexEngineLoaded()
  // the first codex run (a warm run: a thread on the shared app-server) loads the app-server engine
  const codexRun = await fetch(server.url + '/v1/runs?wait=true', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ agent: 'codex', prompt: 'say it', sandbox: 'workspace-write' }),
  })
  report.codexRunStatus = codexRun.status
  report.codexRun = await codexRun.json()
  report.codexEngineAfterRun = codexEngineLoaded()
  report.claudeRunCodeAfterCodexRun = claudeRunCodeLoaded()
  // the first claude run loads what claude's runs need beyond their command line, and answers
  const claudeRun = await fetch(server.url + '/v1/runs?wait=true', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ agent: 'claude', prompt: 'say it' }),
  })
  report.claudeRunStatus = claudeRun.status
  report.claudeRun = await claudeRun.json()
  report.claudeRunCodeAfterRun = claudeRunCodeLoaded()
} finally {
  await server.close(0)
}
console.log(JSON.stringify(report))
`

function runChild(env: Record<string, string | undefined>, cwd: string): Promise<Record<string, unknown>> {
  const script = path.join(tempDir('lazy-'), 'start.mjs')
  writeFileSync(script, childScript)
  const child = spawn(process.execPath, ['--import', tsxLoader, script], {
    cwd,
    env: {
      ...env,
      SERVER_MODULE: pathToFileURL(path.join(root, 'src/http/server.ts')).href,
      OUTPUT_SCHEMA_MODULE: pathToFileURL(path.join(root, 'src/core/output-schema.ts')).href,
      ACP_SDK_MODULE: pathToFileURL(path.join(root, 'src/agents/acp/sdk.ts')).href,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 170_000,
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString()
  })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`exit ${code}: ${err}`))
      else resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, unknown>)
    })
  })
}

describe('lazily loaded modules', () => {
  it('an idle start loads none of them; an ACP run, a codex run, a claude run, /metrics, an outputSchema, the ACP SDK, /openapi.json and / load theirs and work', async () => {
    ensureConsoleBuilt()
    const mock = await startMockLlm()
    let report: Record<string, unknown>
    try {
      mock.setDefault({ kind: 'text', text: 'answered by a lazily loaded driver' })
      const { env, dir } = gatewayEnv(mock, {
        CODEX_CONFINE_READS: 'false',
        ANTHROPIC_BASE_URL: mock.url,
        ANTHROPIC_API_KEY: testApiKey,
        CLAUDE_CODE_MAX_RETRIES: '0',
      })
      report = await runChild(env, dir)
    } finally {
      await mock.close()
    }
    expect(report.health).toBe(200)
    const idle = report.idle as string[]
    expect(idle).toContain('fastify') // the check sees packages at all
    for (const pkg of lazy) expect(idle).not.toContain(pkg)
    expect(report.acpEngineIdle).toBe(false)
    expect(report.acpLaunchIdle).toBe(false)
    expect(report.codexEngineIdle).toBe(false)
    expect(report.claudeRunCodeIdle).toBe(false)
    // the first ACP run (codex-acp, the mock model) loaded the driver's engine and answered
    expect(report.acpRunStatus).toBe(200)
    expect(report.acpRun).toMatchObject({
      agent: 'acp:codex-acp',
      status: 'succeeded',
      finalResponse: 'answered by a lazily loaded driver',
    })
    expect(report.acpEngineAfterRun).toBe(true)
    expect(report.acpLaunchAfterRun).toBe(true)
    expect(report.codexEngineAfterAcpRun).toBe(false)
    // the first codex run loaded the app-server engine and answered on a thread of the shared app-server
    expect(report.codexRunStatus).toBe(200)
    expect(report.codexRun).toMatchObject({
      agent: 'codex',
      status: 'succeeded',
      finalResponse: 'answered by a lazily loaded driver',
    })
    expect(report.codexEngineAfterRun).toBe(true)
    expect(report.claudeRunCodeAfterCodexRun).toBe(false)
    // the first claude run loaded its run code and answered
    expect(report.claudeRunStatus).toBe(200)
    expect(report.claudeRun).toMatchObject({
      agent: 'claude',
      status: 'succeeded',
      finalResponse: 'answered by a lazily loaded driver',
    })
    expect(report.claudeRunCodeAfterRun).toBe(true)
    // the first scrape loads prom-client; its metrics and Node's default ones are there
    expect(report.metricsStatus).toBe(200)
    expect(report.metrics).toContain('# TYPE agent_gateway_runs_total counter')
    expect(report.metrics).toContain('agent_gateway_runs_queued 0')
    expect(report.metrics).toContain('nodejs_eventloop_lag_seconds')
    expect(report.afterMetrics).toContain('prom-client')
    expect(report.afterMetrics).not.toContain('ajv')
    // the first outputSchema loads ajv and checks with it
    expect(report.matched).toEqual({ a: 1 })
    expect(report.refused).toMatch(/does not match outputSchema: .*required property 'a'/)
    expect(report.afterSchema).toContain('ajv')
    expect(report.afterSchema).not.toContain('pg')
    expect(report.afterSchema).not.toContain('@agentclientprotocol/sdk')
    // the ACP SDK (an ES module, seen by the resolve hook) comes with the first ACP process: loadAcpSdk()
    expect(report.sdkBeforeLoad).toMatch(/ACP SDK is not loaded yet/)
    expect(report.protocolVersion).toBe(1)
    expect(report.afterAcp).toContain('@agentclientprotocol/sdk')
    for (const pkg of [...docsPackages, ...consolePackages]) expect(report.afterAcp).not.toContain(pkg)
    // the console's first page loads @fastify/static (and glob), not the documentation stack
    expect(report.consoleStatus).toBe(200)
    expect(report.console).toContain('<div id="app">')
    for (const pkg of consolePackages) expect(report.afterConsole).toContain(pkg)
    for (const pkg of docsPackages) expect(report.afterConsole).not.toContain(pkg)
    // the first /openapi.json builds the documentation app: the document lists the routes, /docs serves the UI
    expect(report.openapiStatus).toBe(200)
    expect(report.openapiPaths).toContain('/v1/runs')
    expect(report.openapiPaths).not.toContain('/docs/json')
    expect(report.uiStatus).toBe(200)
    expect(report.ui).toContain('swagger-initializer.js')
    for (const pkg of docsPackages) expect(report.afterDocs).toContain(pkg)
  }, 180_000)
})
