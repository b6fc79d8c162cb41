/**
 * Memory of idle sessions: the gateway plus every agent process it runs
 * (`npx tsx bench/idle-sessions.ts --agent acp:codex-acp --sessions 20 --per-process 1,8`).
 *
 * For each setting of ACP_SESSIONS_PER_PROCESS (`--per-process`, a comma list; ignored by other agents), it starts
 * the mock model (text answers) and a gateway in its own process (`src/main.ts serve`, the integration tests'
 * env), measures it idle, opens K sessions (`POST /v1/sessions {agent}`, `--concurrency` at a time) and,
 * optionally, runs one turn in each (`--turn`), then measures again once the process tree stopped changing:
 * the gateway's VmRSS and the VmRSS of every process below it (agents, app-server, their helpers), their
 * number, and per session. With `--idle-seconds S` the gateway runs with SESSION_IDLE_SECONDS=S and the bench
 * measures a third time after every session was unloaded (GET /v1/sessions/:id says nothing of that, so it
 * waits S s plus the unload and a settle). Not a test: exits 0 when every session opened (and every turn
 * completed), 1 otherwise. Sends traffic only to 127.0.0.1; every temp dir is removed.
 *
 * Usage: npx tsx bench/idle-sessions.ts [--agent ID] [--sessions K] [--per-process LIST] [--turn]
 *          [--idle-seconds S] [--concurrency C]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { type MockLlm, startMockLlm } from '../test/mock-llm/index.js'
import { gatewayEnv } from '../test/support/gateway.js'
import { listProcesses } from '../test/support/processes.js'
import { startServerProcess } from '../test/support/server-process.js'
import { printMachine } from './machine.js'
import { benchArgs, intOption } from './options.js'
import { markdownTable } from './stats.js'

const { values } = benchArgs({
  options: {
    agent: { type: 'string', default: 'acp:codex-acp' },
    sessions: { type: 'string' },
    'per-process': { type: 'string', default: '1,8' },
    turn: { type: 'boolean', default: false },
    'idle-seconds': { type: 'string' },
    concurrency: { type: 'string' },
  },
})
const agent = values.agent ?? 'acp:codex-acp'
const sessions = intOption(values.sessions, 20, 'sessions')
const concurrency = intOption(values.concurrency, 20, 'concurrency')
const idleSeconds = values['idle-seconds'] ? intOption(values['idle-seconds'], 0, 'idle-seconds') : null
const perProcess = agent.startsWith('acp:')
  ? (values['per-process'] ?? '1,8').split(',').map((v) => intOption(v, 8, 'per-process'))
  : [8]

const kb = (pid: number): number => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}

/** The gateway's RSS and that of every process below it. */
function measure(gatewayPid: number) {
  const all = listProcesses()
  const below = new Set<number>([gatewayPid])
  for (let grew = true; grew; ) {
    grew = false
    for (const p of all)
      if (!below.has(p.pid) && below.has(p.ppid)) {
        below.add(p.pid)
        grew = true
      }
  }
  below.delete(gatewayPid)
  const children = all.filter((p) => below.has(p.pid))
  return {
    gatewayKb: kb(gatewayPid),
    agentKb: children.reduce((sum, p) => sum + kb(p.pid), 0),
    processes: children.length,
    /** What runs below the gateway, by program: which of them an idle session may have left. */
    names: processNames(children.map((p) => p.cmd)),
  }
}

/** `codex app-server` x1, `node -e` x1 (the spawn host), ...: each command's program and first argument, counted. */
function processNames(cmds: string[]): string {
  const counts = new Map<string, number>()
  for (const cmd of cmds) {
    const [program = '?', first = ''] = cmd.split(/\s+/)
    const name = `${path.basename(program)}${first && !first.startsWith('/') ? ` ${first}` : ''}`
    counts.set(name, (counts.get(name) ?? 0) + 1)
  }
  return [...counts].map(([name, n]) => `${name} x${n}`).join(', ') || 'none'
}

/** Measures until two readings 1 s apart agree on the number of processes. */
async function settled(gatewayPid: number) {
  let last = measure(gatewayPid)
  for (let i = 0; i < 30; i++) {
    await sleep(1000)
    const now = measure(gatewayPid)
    if (now.processes === last.processes && Math.abs(now.agentKb - last.agentKb) < 2048) return now
    last = now
  }
  return last
}

async function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

async function one(setting: number, mock: MockLlm) {
  const overrides: Record<string, string> = {
    ACP_SESSIONS_PER_PROCESS: String(setting),
    MAX_QUEUED_TURNS: '20',
    ...(idleSeconds !== null ? { SESSION_IDLE_SECONDS: String(idleSeconds) } : { SESSION_IDLE_SECONDS: '0' }),
  }
  const { env, dir } = gatewayEnv(mock, overrides)
  const started0 = await startServerProcess(env, dir)
  if (!('url' in started0))
    throw new Error(`gateway exited (${started0.exitCode}):\n${started0.output.join('\n')}`)
  const { child, url } = started0
  try {
    const pid = child.pid!
    await fetch(`${url}/health`)
    const idle = await settled(pid)
    const ids: string[] = []
    let failures = 0
    const started = Date.now()
    for (let i = 0; i < sessions; i += concurrency) {
      await Promise.all(
        Array.from({ length: Math.min(concurrency, sessions - i) }, async () => {
          const res = await post(`${url}/v1/sessions`, { agent })
          if (res.status !== 201) {
            failures++
            console.error(`POST /v1/sessions: ${res.status} ${await res.text()}`)
            return
          }
          const { id } = (await res.json()) as { id: string }
          ids.push(id)
          if (values.turn) {
            const t = await post(`${url}/v1/sessions/${id}/turns?wait=true`, { input: 'Say ok.' })
            const turn = (await t.json()) as { status?: string }
            if (turn.status !== 'completed') {
              failures++
              console.error(`turn: ${JSON.stringify(turn)}`)
            }
          }
        }),
      )
    }
    const openMs = Date.now() - started
    const open = await settled(pid)
    let unloaded: ReturnType<typeof measure> | null = null
    if (idleSeconds !== null) {
      await sleep((idleSeconds + 2) * 1000)
      unloaded = await settled(pid)
    }
    return { setting, idle, open, unloaded, openMs, failures, opened: ids.length }
  } finally {
    await started0.stop('SIGTERM')
    rmSync(dir, { recursive: true, force: true })
  }
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'agw-bench-idle-'))
process.env.AGW_TEST_TMP = tmp
const mock = await startMockLlm()
mock.setDefault({ kind: 'text', text: 'ok' })
console.log(`idle sessions: ${sessions} x ${agent}${values.turn ? ' (one turn each)' : ''}`)
printMachine()
const rows: string[][] = []
const results: Awaited<ReturnType<typeof one>>[] = []
let failed = false
try {
  for (const setting of perProcess) {
    const r = await one(setting, mock)
    results.push(r)
    failed ||= r.failures > 0 || r.opened !== sessions
    const mb = (k: number) => (k / 1024).toFixed(1)
    const phase = (name: string, m: ReturnType<typeof measure>) =>
      rows.push([
        agent.startsWith('acp:') ? String(setting) : '-',
        name,
        mb(m.gatewayKb),
        String(m.processes),
        mb(m.agentKb),
        mb(m.gatewayKb + m.agentKb),
        name === 'idle' ? '-' : mb((m.gatewayKb + m.agentKb - r.idle.gatewayKb - r.idle.agentKb) / sessions),
      ])
    phase('idle', r.idle)
    phase(`${r.opened} sessions open (${r.openMs} ms)`, r.open)
    if (r.unloaded) phase(`after idle unload (${idleSeconds} s)`, r.unloaded)
  }
} finally {
  await mock.close()
  rmSync(tmp, { recursive: true, force: true })
}
const names: string[] = []
for (const r of results) {
  names.push(
    `${r.setting}: idle: ${r.idle.names}; open: ${r.open.names}${r.unloaded ? `; unloaded: ${r.unloaded.names}` : ''}`,
  )
}
console.log(
  markdownTable(
    [
      [
        'sessions/process',
        'phase',
        'gateway RSS MB',
        'agent processes',
        'agents RSS MB',
        'total MB',
        'MB per session',
      ],
      ...rows,
    ],
    [false, false, true, true, true, true, true],
  ),
)
console.log(
  `\nprocesses below the gateway (per-process setting: phase: program x count):\n${names.join('\n')}`,
)
process.exit(failed ? 1 : 0)
