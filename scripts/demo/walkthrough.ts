/**
 * The demo's walkthrough: every step is printed as a curl command and, with `--check`, sent for real.
 * `{RUN}`, `{SES}` and `{THREAD}` are ids an earlier step captured (shell variables in the printed form).
 */
export interface Step {
  /** Section heading (printed once, before its first step). */
  section: string
  title: string
  method: 'GET' | 'POST'
  path: string
  body?: unknown
  /** Streamed answers: the check reads the status and the first bytes, then leaves. */
  accept?: 'text/event-stream' | 'application/x-ndjson'
  /** Remembers an id from the JSON answer under this variable. */
  capture?: { variable: 'RUN' | 'SES' | 'THREAD'; field: (json: unknown) => unknown }
  status: number
  /**
   * Independent of every step after it (it captures nothing and needs nothing they capture): `--check` sends the
   * next step without waiting for its answer.
   */
  concurrent?: true
}

const greeting = 'say a greeting'
const idOf = (json: unknown) => (json as { id?: unknown }).id
const threadIdOf = (json: unknown) => (json as { thread?: { id?: unknown } }).thread?.id

/** One run per agent besides codex, every one wired to the same mock model. */
export const otherAgents = ['claude', 'gemini', 'copilot', 'acp:codex-acp', 'acp:claude-agent-acp']

export const steps: Step[] = [
  {
    section: 'Native API (/v1)',
    title: 'health: agents and store',
    method: 'GET',
    path: '/health',
    status: 200,
  },
  {
    section: 'Native API (/v1)',
    title: 'the agents, their versions and capabilities',
    method: 'GET',
    path: '/v1/agents',
    status: 200,
  },
  {
    section: 'Native API (/v1)',
    title: 'a durable run, answered when it finished (?wait=true)',
    method: 'POST',
    path: '/v1/runs?wait=true',
    body: { prompt: greeting },
    capture: { variable: 'RUN', field: idOf },
    status: 200,
  },
  {
    section: 'Native API (/v1)',
    title: "the run's stored events as NDJSON (replayable: ?after=<seq> or Last-Event-ID)",
    method: 'GET',
    path: '/v1/runs/{RUN}/events',
    accept: 'application/x-ndjson',
    status: 200,
  },
  {
    section: 'Native API (/v1)',
    title: 'a run streamed as Server-Sent Events while it happens (the model runs a command)',
    method: 'POST',
    path: '/v1/runs',
    body: { prompt: 'run a command', sandbox: 'workspace-write' },
    accept: 'text/event-stream',
    status: 200,
  },
  {
    section: 'Native API (/v1)',
    title: 'history, newest first',
    method: 'GET',
    path: '/v1/runs?limit=5',
    status: 200,
  },
  ...otherAgents.map(
    (agent): Step => ({
      section: 'Every agent on the same API',
      title: `${agent}`,
      method: 'POST',
      path: '/v1/runs?wait=true',
      body: { agent, prompt: greeting },
      status: 200,
      // each agent's first run is its cold start: one at a time they took most of the check; they go on beside
      // each other and codex's steps after them
      concurrent: true,
    }),
  ),
  {
    section: 'Sessions',
    title: 'a session (a codex app-server thread)',
    method: 'POST',
    path: '/v1/sessions',
    body: {},
    capture: { variable: 'SES', field: idOf },
    status: 201,
  },
  {
    section: 'Sessions',
    title: 'a turn, answered when it ended',
    method: 'POST',
    path: '/v1/sessions/{SES}/turns?wait=true',
    body: { input: greeting },
    status: 200,
  },
  {
    section: 'Sessions',
    title: 'a second turn: the model sees the first',
    method: 'POST',
    path: '/v1/sessions/{SES}/turns?wait=true',
    body: { input: 'what did I ask before?' },
    status: 200,
  },
  {
    section: 'Sessions',
    title: 'a fork: a new session with this history',
    method: 'POST',
    path: '/v1/sessions/{SES}/fork',
    status: 201,
  },
  {
    section: 'Sessions',
    title: "the session's events, replayed then followed live (Ctrl-C to stop)",
    method: 'GET',
    path: '/v1/sessions/{SES}/events',
    accept: 'text/event-stream',
    status: 200,
  },
  {
    section: 'Sessions',
    title: 'approvals waiting for an answer',
    method: 'GET',
    path: '/v1/approvals?state=pending',
    status: 200,
  },
  {
    section: 'Seed 000: /hello and /chat',
    title: 'a greeting as text/plain',
    method: 'GET',
    path: '/hello',
    status: 200,
  },
  {
    section: 'Seed 000: /hello and /chat',
    title: '{stdout, stderr, returncode}',
    method: 'POST',
    path: '/chat',
    body: { prompt: 'hello there' },
    status: 200,
  },
  { section: 'Seed 001: codex.serve', title: 'allowed CLIs', method: 'GET', path: '/clis', status: 200 },
  { section: 'Seed 001: codex.serve', title: 'models', method: 'GET', path: '/models', status: 200 },
  {
    section: 'Seed 001: codex.serve',
    title: 'a CLI run streamed as NDJSON frames {type: stdout|stderr|exit}',
    method: 'POST',
    path: '/run',
    body: { cli: 'codex', args: ['exec', '--json', '--skip-git-repo-check', greeting] },
    accept: 'application/x-ndjson',
    status: 200,
  },
  {
    section: 'Seed 002: /api/codex/*',
    title: "codex's own JSONL events and the final response",
    method: 'POST',
    path: '/api/codex/run',
    body: { prompt: greeting },
    status: 200,
  },
  {
    section: 'Seed 002: /api/codex/*',
    title: "codex's own events as SSE data lines",
    method: 'POST',
    path: '/api/codex/stream',
    body: { prompt: greeting },
    accept: 'text/event-stream',
    status: 200,
  },
  {
    section: 'Seed 003: codex agent server',
    title: 'a thread',
    method: 'POST',
    path: '/api/thread/start',
    body: {},
    capture: { variable: 'THREAD', field: threadIdOf },
    status: 200,
  },
  {
    section: 'Seed 003: codex agent server',
    title: 'a turn on it, answered with its items',
    method: 'POST',
    path: '/api/turn/start',
    body: { threadId: '{THREAD}', input: [{ type: 'text', text: greeting }] },
    status: 200,
  },
  {
    section: 'Seed 003: codex agent server',
    title: "codex's own record of the thread",
    method: 'POST',
    path: '/api/thread/read',
    body: { threadId: '{THREAD}', includeTurns: true },
    status: 200,
  },
  {
    section: 'Seed 003: codex agent server',
    title: 'a fork of the thread',
    method: 'POST',
    path: '/api/thread/fork',
    body: { threadId: '{THREAD}' },
    status: 200,
  },
  {
    section: 'Seed 003: codex agent server',
    title: 'skills',
    method: 'POST',
    path: '/api/skills/list',
    body: {},
    status: 200,
  },
]

const substitute = (text: string, vars: Record<string, string>) =>
  text.replace(/\{(RUN|SES|THREAD)\}/g, (_, name: string) => vars[name] ?? `{${name}}`)

/** A step as a shell command (ids captured into shell variables with node, which is surely installed). */
export function asCurl(step: Step, base: string): string {
  const shellVars = { RUN: '$RUN', SES: '$SES', THREAD: '$THREAD' }
  const url = `${base}${substitute(step.path, shellVars)}`
  const parts = ['curl -s']
  if (step.accept) parts.push('-N', `-H 'accept: ${step.accept}'`)
  if (step.method === 'POST') parts.push('-X POST')
  if (step.body !== undefined) {
    const json = substitute(JSON.stringify(step.body), shellVars)
    parts.push(
      "-H 'content-type: application/json'",
      json.includes('$') ? `-d "${json.replaceAll('"', '\\"')}"` : `-d '${json}'`,
    )
  }
  parts.push(`"${url}"`)
  const command = parts.join(' ')
  if (!step.capture) return command
  const pick =
    step.capture.variable === 'THREAD'
      ? 'JSON.parse(require("fs").readFileSync(0)).thread.id'
      : 'JSON.parse(require("fs").readFileSync(0)).id'
  return `${step.capture.variable}=$(${command} | node -pe '${pick}'); echo $${step.capture.variable}`
}

/** Sends one step; returns its status and a short preview of the answer, capturing ids into `vars`. */
export async function send(
  step: Step,
  base: string,
  vars: Record<string, string>,
): Promise<{ status: number; preview: string }> {
  const body = step.body === undefined ? undefined : substitute(JSON.stringify(step.body), vars)
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), 180_000)
  try {
    const res = await fetch(base + substitute(step.path, vars), {
      method: step.method,
      headers: {
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...(step.accept ? { accept: step.accept } : {}),
      },
      ...(body ? { body } : {}),
      signal: controller.signal,
    })
    let preview: string
    if (step.accept) {
      const reader = res.body!.getReader()
      const first = await reader.read()
      preview = new TextDecoder().decode(first.value ?? new Uint8Array())
      await reader.cancel()
    } else {
      preview = await res.text()
      if (step.capture && res.ok) {
        const id = step.capture.field(JSON.parse(preview))
        if (typeof id === 'string') vars[step.capture.variable] = id
      }
    }
    return { status: res.status, preview: preview.replace(/\s+/g, ' ').slice(0, 140) }
  } finally {
    clearTimeout(timer)
  }
}
