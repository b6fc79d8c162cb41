import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AcpProcess } from '../../src/agents/acp/acp-process.js'
import { acpPreset } from '../../src/agents/acp/agent-spec.js'
import { acpLaunch } from '../../src/agents/acp/launch.js'
import { loadAcpSdk } from '../../src/agents/acp/sdk.js'
import { CodexExecDriver } from '../../src/agents/codex/exec-driver.js'
import { loadConfig } from '../../src/config/load.js'
import { localRunner } from '../../src/process/local-runner.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayEnv } from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'
import { tempDir } from '../support/temp.js'

// What the gateway's CODEX_CA_CERTIFICATE (src/agents/codex/ca-bundle.ts: one certificate of the system store)
// relies on, shown with the real pinned codex-acp and codex CLI: a custom CA file ADDS to the system roots codex loads (its
// HTTP client builder loads them whatever the file holds), it does not replace them. The "system store" here
// is a directory of our own named by SSL_CERT_DIR (which codex's system-root loader reads), holding a test CA;
// the model endpoint is the mock behind HTTPS with a certificate that CA signed.

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

let mock: MockLlm
let front: Server
let dir: string
let caDir: string
let emptyDir: string
let unrelated: string
/** TLS handshakes the HTTPS front saw fail (a client that does not trust its certificate aborts it). */
let tlsFailures = 0

/** A test CA and a certificate for 127.0.0.1 it signed (EC keys: fast to make). */
function makeCertificates(at: string): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: at, stdio: 'ignore' })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=agw test CA')
  ssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1')
  writeFileSync(
    path.join(at, 'server.ext'),
    'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  )
  ssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'server.ext',
  )
  // a second CA that signed nothing here: the custom file of the runs below
  ssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'other.key',
    '-out',
    'other.pem',
    '-days',
    '2',
    '-subj',
    '/CN=agw other CA',
  )
}

beforeAll(async () => {
  if (!hasOpenssl) return
  await loadAcpSdk()
  mock = await startMockLlm()
  dir = tempDir('ca-anchor-')
  makeCertificates(dir)
  caDir = path.join(dir, 'store')
  mkdirSync(caDir)
  const hash = execFileSync('openssl', ['x509', '-hash', '-noout', '-in', path.join(dir, 'ca.pem')])
    .toString()
    .trim()
  writeFileSync(path.join(caDir, `${hash}.0`), readFileSync(path.join(dir, 'ca.pem')))
  emptyDir = path.join(dir, 'empty-store')
  mkdirSync(emptyDir)
  unrelated = path.join(dir, 'other.pem')
  // HTTPS in front of the mock: every request is passed through as it is
  front = createServer(
    { key: readFileSync(path.join(dir, 'server.key')), cert: readFileSync(path.join(dir, 'server.pem')) },
    (req, res) => {
      const upstream = httpRequest(
        `${mock.url}${req.url}`,
        { method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        },
      )
      upstream.on('error', () => res.destroy())
      req.pipe(upstream)
    },
  )
  front.on('tlsClientError', () => tlsFailures++)
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve))
})

afterAll(async () => {
  if (!hasOpenssl) return
  front?.closeAllConnections()
  await new Promise((resolve) => front?.close(resolve))
  await mock?.close()
  expect(await waitUntilGone(() => processesUnder(dir))).toEqual([])
})

/** A gateway's env whose model provider is the mock behind the HTTPS front. */
function behindHttpsFront() {
  const { port } = front.address() as AddressInfo
  return gatewayEnv(mock, { CODEX_API_BASE_URL: `https://127.0.0.1:${port}/v1` })
}

/** One prompt to codex-acp whose system store is `store`, with `unrelated` as its CODEX_CA_CERTIFICATE. */
async function promptWith(store: string): Promise<{ stopReason?: string; error?: string }> {
  const { env, dir: gwDir, workspace } = behindHttpsFront()
  const config = loadConfig(env, gwDir)
  const preset = acpPreset('codex-acp')
  if (!preset.command) throw new Error('codex-acp is not installed')
  const launch = acpLaunch({ ...preset, command: preset.command }, config, env, {
    cwd: workspace,
    approvalPolicy: 'never',
  })
  const agent = new AcpProcess(localRunner, {
    ...launch,
    cwd: dir,
    env: { ...launch.env, CODEX_CA_CERTIFICATE: unrelated, SSL_CERT_DIR: store },
  })
  try {
    await agent.initialize()
    const { sessionId } = await agent.connection.agent.request('session/new', {
      cwd: workspace,
      mcpServers: [],
    })
    const answer = await agent.connection.agent.request('session/prompt', {
      sessionId,
      prompt: [{ type: 'text', text: 'over https' }],
    })
    return { stopReason: answer.stopReason }
  } catch (err) {
    return { error: String(err) }
  } finally {
    await agent.terminate('cancelled')
  }
}

/**
 * One `codex exec` (the codex CLI the exec and app-server drivers run) whose system store is `store`: its exit,
 * or null once it reported that it could not connect (codex 0.169 then waits for the network and retries for
 * good: it is ended there).
 */
async function execWith(store: string): Promise<{ code: number | null; out: string }> {
  const { env, dir: gwDir, workspace } = behindHttpsFront()
  const exec = new CodexExecDriver(loadConfig(env, gwDir), env)
  if (!exec.binary) throw new Error('codex is not installed')
  const child = spawn(exec.binary, exec.buildArgs({ prompt: 'over https', cwd: workspace }), {
    cwd: workspace,
    env: { ...exec.childEnv(), CODEX_CA_CERTIFICATE: unrelated, SSL_CERT_DIR: store },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve))
  child.stdin.end('over https')
  let out = ''
  const unreachable = new Promise<null>((resolve) =>
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('Connection failed')) resolve(null)
    }),
  )
  child.stderr.resume()
  // bounded: a codex that neither ends nor says so (another wording) fails the test, not hangs it
  let timer: NodeJS.Timeout | undefined
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`codex exec neither ended nor failed to connect:\n${out}`)),
      60_000,
    )
  })
  try {
    return { code: await Promise.race([closed, unreachable, stuck]), out }
  } finally {
    clearTimeout(timer)
    child.kill('SIGKILL')
    await closed
  }
}

describe.skipIf(!hasOpenssl)("codex's CODEX_CA_CERTIFICATE adds to the system roots", () => {
  it('a provider whose CA is a system root is trusted though the custom file names another CA', async () => {
    mock.script({ kind: 'text', text: 'trusted' })
    const trusted = await promptWith(caDir)
    expect(trusted).toEqual({ stopReason: 'end_turn' })
    expect(tlsFailures).toBe(0)
    expect(mock.requests.filter((r) => r.path.includes('/responses'))).toHaveLength(1)
  })

  it('the same provider is refused when its CA is in neither (the check above can fail)', async () => {
    mock.reset()
    mock.setDefault({ kind: 'text', text: 'should not be reached' })
    const refused = await promptWith(emptyDir)
    expect(refused.stopReason).not.toBe('end_turn')
    expect(tlsFailures).toBeGreaterThan(0)
    expect(mock.requests.filter((r) => r.path.includes('/responses'))).toHaveLength(0)
  })

  it('the same for the codex CLI (`codex exec`; app-server is the same binary)', async () => {
    mock.reset()
    mock.script({ kind: 'text', text: 'exec trusted' })
    const failuresBefore = tlsFailures
    const trusted = await execWith(caDir)
    expect(trusted.code).toBe(0)
    expect(trusted.out).toContain('exec trusted')
    expect(tlsFailures).toBe(failuresBefore)
    mock.reset()
    mock.setDefault({ kind: 'text', text: 'should not be reached' })
    const refused = await execWith(emptyDir)
    expect(refused.code).toBeNull()
    expect(refused.out).toContain('Connection failed')
    expect(mock.requests.filter((r) => r.path.includes('/responses'))).toHaveLength(0)
    expect(tlsFailures).toBeGreaterThan(failuresBefore)
  })
})
