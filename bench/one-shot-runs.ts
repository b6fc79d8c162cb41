/**
 * The one-shot runs the ACP, timeline and peer benches time: a gateway run (`POST /v1/runs?wait=true` or
 * `POST /chat`) and a cold direct `codex exec` (the codex-exec driver's argv and env: codex as a user runs it). Each resolves when
 * the answer is in and checked; callers time around them.
 */
import { spawn } from 'node:child_process'
import type { CodexExecDriver } from '../src/agents/codex/exec-driver.js'
import type { RunningServer } from '../src/http/server.js'
import { asUserRunsIt } from './direct-launch.js'
import { BenchError } from './options.js'

/** `POST /v1/runs?wait=true {agent, prompt}` until the finished run's JSON is read; throws unless it answered `answer`. */
export async function gatewayRunAnswers(
  server: RunningServer,
  agent: string,
  prompt: string,
  answer: string,
): Promise<void> {
  const res = await fetch(`${server.url}/v1/runs?wait=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ agent, prompt }),
    signal: AbortSignal.timeout(60_000),
  })
  const run = (await res.json()) as { status?: string; finalResponse?: string }
  if (res.status !== 200 || run.status !== 'succeeded' || run.finalResponse?.trim() !== answer)
    throw new BenchError(`${agent}: HTTP ${res.status}: ${JSON.stringify(run)}`)
}

/** `POST /chat {prompt}` (seed 000: a warm codex run that follows the run's events) until its JSON is read; throws unless it answered `answer`. */
export async function gatewayChatAnswers(
  server: RunningServer,
  prompt: string,
  answer: string,
): Promise<void> {
  const res = await fetch(`${server.url}/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt }),
    signal: AbortSignal.timeout(60_000),
  })
  const body = (await res.json()) as { stdout?: string }
  if (res.status !== 200 || body.stdout?.trim() !== answer)
    throw new BenchError(`/chat: HTTP ${res.status}: ${JSON.stringify(body)}`)
}

/** A cold `codex exec` of `prompt` in `cwd`, read to its end; throws unless it printed `answer`. */
export async function directCodexExec(
  server: RunningServer,
  cwd: string,
  prompt: string,
  answer: string,
  onFirstStdout?: () => void,
): Promise<void> {
  const exec = server.ctx.registry.get('codex-exec') as CodexExecDriver
  if (!exec.binary) throw new BenchError('codex is not installed')
  const { args, env } = asUserRunsIt(server, { args: exec.buildArgs({ prompt, cwd }), env: exec.childEnv() })
  const child = spawn(exec.binary, args, {
    cwd,
    env,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  child.stdin.end(prompt)
  let out = ''
  child.stdout.on('data', (d: Buffer) => {
    if (!out) onFirstStdout?.()
    out += d.toString()
  })
  child.stderr.resume()
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  if (code !== 0 || !out.includes(answer)) throw new BenchError(`codex exec: exit ${code}\n${out}`)
}
