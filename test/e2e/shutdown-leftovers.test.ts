import { describe, type ExpectStatic, it } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import { held, startMockLlm } from '../mock-llm/index.js'
import { gatewayEnv, mockAgentSettings, postJson } from '../support/gateway.js'
import { killAll, listProcesses, waitUntilGone } from '../support/processes.js'
import { type ServerProcess, spawnedBy, startServerProcess } from '../support/server-process.js'

function assertStarted(s: Awaited<ReturnType<typeof startServerProcess>>): ServerProcess {
  if (!('url' in s)) throw new Error(`server exited (${s.exitCode}):\n${s.output.join('\n')}`)
  return s
}

/**
 * "No process outlives its run", across the gateway's own end. A run's command starts a daemon that left the
 * agent's process group (a session of its own, reparented to init) and ignores SIGTERM, and the gateway ends
 * while the run is in flight:
 * - killed (SIGKILL): its spawn host, left without it, ends the daemon by the dead server's marker (which gemini's
 *   strict env filter dropped once) before any next start (spawn-host-source.ts); were the host killed too, the
 *   next start on the same directories would (server-marker.ts, test/unit/leftover-sweep.test.ts);
 * - stopped (SIGTERM): the daemon gets its SIGTERM when its agent ends, and its SIGKILL KILL_GRACE_MS later, before
 *   its run's end is told (marked-processes.ts: a run's end waits for its sweep), so before the gateway exits;
 *   once, the follow-up timer alone never fired, the process exited first. What a stop still finds (a run ended
 *   by force before its sweep was over) the exit sweep ends (exit-sweep.ts, test/unit/exit-sweep.test.ts).
 */
describe.concurrent('a daemon a run started does not outlive the gateway', () => {
  /**
   * What one test started, ended after it whatever happened: its servers, its held model answers, its mock model,
   * and what still runs with one of its daemons' tags. Each test has its own: the two run at once.
   */
  async function ownParts(onTestFinished: (fn: () => Promise<void>) => void) {
    const parts = {
      mock: await startMockLlm(),
      servers: [] as ServerProcess[],
      /** The daemons' tags: whatever happened, what still runs with one is killed after the test. */
      tags: [] as string[],
      releases: [] as (() => void)[],
    }
    onTestFinished(async () => {
      for (const release of parts.releases.splice(0)) release()
      for (const server of parts.servers.splice(0)) await server.stop('SIGKILL')
      const ours = new Set(parts.tags.splice(0).map((tag) => `sleep ${tag}`))
      killAll(listProcesses().filter((p) => ours.has(p.cmd)))
      await parts.mock.close()
    })
    return parts
  }

  type Parts = Awaited<ReturnType<typeof ownParts>>

  /**
   * Starts a run whose command leaves a TERM-ignoring daemon; resolves once the daemon runs and the run waits. The
   * model answers by the run's prompt (its tag), so the runs of several agents go on at once on one gateway.
   */
  async function runLeavingDaemon(
    { mock, tags, releases }: Parts,
    expect: ExpectStatic,
    server: ServerProcess,
    agent: string,
    sandbox: string,
    tag: string,
  ) {
    tags.push(tag)
    const waiting = held({ kind: 'text', text: 'done' })
    releases.push(waiting.release)
    // the command returns once the daemon is in a session of its own: one still on its way there may die with the
    // command's process group when the command ends (seen with codex under load), which is not what this test is about
    const ready = `daemon-${tag}`
    mock.on(
      `start it ${tag}`,
      {
        kind: 'exec_command',
        cmd: `(setsid sh -c 'trap "" TERM; : > ${ready}; exec sleep ${tag}' </dev/null >/dev/null 2>&1 &); timeout 15 sh -c "until [ -e ${ready} ]; do sleep 0.05; done"; echo started`,
      },
      waiting.step,
    )
    const res = await postJson(`${server.url}/v1/runs`, { agent, prompt: `start it ${tag}`, sandbox })
    const run = (await res.json()) as Run
    expect(res.status, `${agent}: ${JSON.stringify(run)}`).toBe(202)
    // the agent asks the model again once the command returned
    await waiting.asked
    const daemon = () => listProcesses().filter((p) => p.cmd === `sleep ${tag}`)
    // the daemon's `exec sleep` may come a moment after its command returned: waited for, not assumed
    const deadline = Date.now() + 15_000
    while (daemon().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25))
    expect(daemon(), agent).toHaveLength(1)
    return daemon
  }

  // gemini's shell needs workspace-write, claude's Bash danger-full-access (headless, nothing to approve it)
  const every = [
    ['codex', 'danger-full-access'],
    ['claude', 'danger-full-access'],
    ['gemini', 'workspace-write'],
    ['copilot', 'workspace-write'],
  ] as const
  // codex once more under an operator's policy that lets its commands inherit nothing
  const inheritNothing =
    'shell_environment_policy.inherit="none";shell_environment_policy.set={PATH="/usr/local/bin:/usr/bin:/bin"}'
  // Each agent's run on the same two gateways (a daemon of each, checked one by one): two server starts and one
  // stop for all four instead of for each.
  for (const [n, [agents, overrides, label]] of (
    [
      [every, {}, 'codex, claude, gemini and copilot'],
      [every.slice(0, 1), { CODEX_CONFIG_OVERRIDES: inheritNothing }, 'codex, inherit = "none"'],
    ] as const
  ).entries())
    it(`${label}: the spawn host ends what a killed gateway left, a stop what it leaves`, {
      timeout: 240_000,
    }, async ({ expect, onTestFinished }) => {
      const parts = await ownParts(onTestFinished)
      const { mock } = parts
      const { env, dir } = gatewayEnv(mock, {
        ...overrides,
        ALLOW_DANGER_FULL_ACCESS: 'true',
        SHUTDOWN_GRACE_SECONDS: '0',
        // longer than a stop takes here: the daemon's SIGKILL must not come from the follow-up timer
        KILL_GRACE_MS: '3000',
        // a run of each agent at once
        MAX_CONCURRENT_RUNS: String(agents.length),
        ...mockAgentSettings(mock, {
          anthropic: 'anthropic-key-2d8e51',
          gemini: 'gemini-key-9a4c13',
          copilot: 'copilot-key-6f0b72',
        }),
      })
      let runs = 0
      // the daemons' `sleep` seconds, each of its own: the two tests at once draw from ranges of their own
      const tag = () =>
        `${41_000 + n * 4500 + (runs++ % 50) * 90 + Math.floor(Math.random() * 90)}.${process.pid}`
      const leaveDaemons = (server: ServerProcess) =>
        Promise.all(
          agents.map(([agent, sandbox]) => runLeavingDaemon(parts, expect, server, agent, sandbox, tag())),
        )

      const killed = assertStarted(await startServerProcess(env, dir))
      parts.servers.push(killed)
      const firstDaemons = await leaveDaemons(killed)
      const killedAgents = new Set(spawnedBy(killed, listProcesses()).map((p) => p.pid))
      await killed.stop('SIGKILL')
      // its spawn host, left without it, kills its children's groups and what carries its marker: the daemons go
      // without waiting for a next start (spawn-host-source.ts)
      for (const [i, daemon] of firstDaemons.entries())
        expect(await waitUntilGone(daemon), agents[i]![0]).toEqual([])
      // its agents are gone too, before the next runs ask the model: an agent of the killed gateway still running
      // would ask it again when its held request fails (a retry)
      expect(await waitUntilGone(() => listProcesses().filter((p) => killedAgents.has(p.pid)))).toEqual([])

      const next = assertStarted(await startServerProcess(env, dir))
      parts.servers.push(next)
      const secondDaemons = await leaveDaemons(next)
      expect(await next.stop('SIGTERM')).toBe(0)
      // gone when the gateway exited, not some time later
      for (const [i, daemon] of secondDaemons.entries()) expect(daemon(), agents[i]![0]).toEqual([])
    })
})
