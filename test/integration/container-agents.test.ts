import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { held } from '../mock-llm/index.js'
import { claudeAndGeminiSettings, sharedContainerGateway } from '../support/container-gateway.js'
import { containersLabelled, gatewayContainers, waitForContainers } from '../support/containers.js'
import { postJson, requestInput, testApiKey, testModel } from '../support/gateway.js'
import { onePixelPng as png } from '../support/png.js'
import { processesUnder } from '../support/processes.js'
import { tempDir } from '../support/temp.js'

/**
 * Every agent with `isolation: "container"` (real podman, the test image): the command the mock model asks
 * for runs inside the run's or the session turn's container (it writes the container's hostname into the mounted
 * workspace, as the container's uid 1000), and a cancelled run leaves no container behind.
 */
const agents: { agent: string; sandbox: string }[] = [
  { agent: 'codex', sandbox: 'workspace-write' },
  { agent: 'claude', sandbox: 'workspace-write' },
  { agent: 'gemini', sandbox: 'workspace-write' },
  { agent: 'copilot', sandbox: 'workspace-write' },
  { agent: 'acp:codex-acp', sandbox: 'workspace-write' },
  // Claude Code behind ACP asks before it writes; full access lets a one-shot run proceed
  { agent: 'acp:claude-agent-acp', sandbox: 'danger-full-access' },
]

/** The agents whose cancel is tested: each stops its container on a path of its own (below). */
const cancelled = ['codex', 'acp:codex-acp']

/**
 * The agents with a session case here (codex's and acp:codex-acp's: container-sessions.test.ts). Their command runs
 * in the session's first turn, not in a one-shot run of its own: each agent start is a cold start in a fresh
 * container (gemini ~1.7 s CPU loading its bundle, as on the host), and a turn is such a run with a session.
 */
const withSession = (agent: string) => !['codex', 'acp:codex-acp'].includes(agent)

// Two lanes at once, each its own gateway (its own instance label: a test counts exactly its containers) and mock
// model; within a lane one test after another. Split so both take about as long (lane 2 has the host-only test).
const lanes = [
  ['codex', 'claude', 'gemini'],
  ['copilot', 'acp:codex-acp', 'acp:claude-agent-acp'],
].map((names, i) => ({ lane: i + 1, agents: agents.filter((a) => names.includes(a.agent)) }))

describe.concurrent.each(lanes)('every agent runs inside its container (lane $lane)', ({ lane, agents }) => {
  const shared = sharedContainerGateway((mock) => {
    // an ACP agent installed on the host only: its program is not in the image
    const hostOnlyAgent = path.join(tempDir('host-only-agent-'), 'host-only-acp')
    writeFileSync(hostOnlyAgent, '#!/bin/sh\nexit 0\n', { mode: 0o755 })
    return {
      ...claudeAndGeminiSettings(mock),
      COPILOT_PROVIDER_BASE_URL: mock.baseUrl,
      COPILOT_PROVIDER_API_KEY: testApiKey,
      COPILOT_MODEL: testModel,
      // the container is the sandbox here; claude-agent-acp needs full access to run a command unasked
      ALLOW_DANGER_FULL_ACCESS: 'true',
      ACP_AGENTS: `host-only=${hostOnlyAgent}`,
      // the agents' own session state, mounted into each turn's container (created empty, opened to uid 1000)
      CLAUDE_CONFIG_DIR: tempDir('claude-config-'),
      COPILOT_HOME: tempDir('copilot-home-'),
    }
  })

  /** The command's file: written by the container `name` (its hostname), as uid 1000 while the gateway is root. */
  const expectWrittenInContainer = (file: string, name?: string) => {
    const written = path.join(shared.gw.workspace, file)
    const [hostname, uid] = readFileSync(written, 'utf8').trim().split('\n')
    // the hostname is the container's name (agw-<instance>-...), not this machine's
    expect(hostname).toMatch(new RegExp(`^agw-${shared.gw.instance}-`))
    if (name) expect(hostname).toBe(name.slice(0, 63))
    expect(hostname).not.toBe(os.hostname())
    expect(uid).toBe('1000')
    expect(statSync(written).uid).toBe(1000)
  }
  const whereCommand = (file: string) => ({
    kind: 'exec_command' as const,
    cmd: `hostname > ${file} && id -u >> ${file}`,
  })

  const submit = async (body: Record<string, unknown>) => {
    const res = await postJson(`${shared.gw.url}/v1/runs?wait=true`, body)
    expect(res.status).toBe(200)
    return (await res.json()) as Run & { error: string | null }
  }

  // a session's two turns, each in a container of its own, took 30 s (gemini) of vitest's 60 s in a loaded CI run
  describe.sequential('one test after another', { timeout: 120_000 }, () => {
    if (lane === 2)
      it('an agent missing from the image fails and says so (not "cancelled"); nothing is left', async () => {
        const run = await submit({ agent: 'acp:host-only', prompt: 'hello', isolation: 'container' })
        expect(run.status).toBe('failed')
        // the runtime's word for it, else (podman 4.3 may lose the output of a container that ends at once: seen
        // once in CI, exit 1 and an empty stderr) how the agent process ended, never a cancel
        expect(run.error).toMatch(
          /host-only-acp: not found in image|host-only-acp ended: exit code [1-9]\d*$/,
        )
        expect(await gatewayContainers(shared.gw.instance)).toEqual([])
      })

    for (const { agent, sandbox } of agents) {
      const file = `where-${agent.replace(/\W/g, '-')}.txt`

      if (!withSession(agent))
        it(`${agent}: its shell command runs in the run's container`, async () => {
          shared.mock.reset()
          shared.mock.script(whereCommand(file), { kind: 'text', text: `${agent} ran it` })
          const run = await submit({ agent, prompt: 'where are you?', isolation: 'container', sandbox })
          expect(run.status, run.error ?? '').toBe('succeeded')
          expect(run.finalResponse).toBe(`${agent} ran it`)
          expectWrittenInContainer(file)
          expect(await gatewayContainers(shared.gw.instance)).toEqual([])
        })

      // one cancel per way the gateway stops a run's container: an agent process of runProcess (codex; claude,
      // gemini and copilot run the same way) and an ACP agent's cold run (acp:codex-acp; claude-agent-acp's too)
      if (!cancelled.includes(agent)) continue
      it(`${agent}: cancel stops the container through the engine`, async () => {
        shared.mock.reset()
        shared.mock.script({ kind: 'text', text: 'never seen', delayMs: 60_000 })
        const res = await postJson(`${shared.gw.url}/v1/runs`, {
          agent,
          prompt: 'wait for the model',
          isolation: 'container',
          sandbox,
        })
        expect(res.status).toBe(202)
        const { id } = (await res.json()) as Run
        await waitForContainers(shared.gw.instance, (names) => names.length === 1)
        expect(await containersLabelled(`agent-gateway.run=${id}`)).toHaveLength(1)
        // the agent inside the container has reached the model: it is running, not starting
        await waitUntil(() => shared.mock.requests.some((r) => !r.side))
        expect((await postJson(`${shared.gw.url}/v1/runs/${id}/cancel`, {})).status).toBeLessThan(300)
        await waitForContainers(shared.gw.instance, (names) => names.length === 0)
        const cancelled = (await (await fetch(`${shared.gw.url}/v1/runs/${id}`)).json()) as Run
        expect(cancelled.status).toBe('cancelled')
        expect(processesUnder(shared.gw.workspace)).toEqual([])
      })
    }

    for (const { agent, sandbox } of agents.filter((a) => withSession(a.agent))) {
      const file = `where-${agent.replace(/\W/g, '-')}.txt`
      it(`${agent}: a session's turns run in its containers (its shell command too) and carry the history`, async () => {
        shared.mock.reset()
        const created = await postJson(`${shared.gw.url}/v1/sessions`, {
          agent,
          isolation: 'container',
          sandbox,
        })
        expect(created.status).toBe(201)
        const session = (await created.json()) as Session
        const turn = async (input: string | object[]) => {
          const res = await postJson(`${shared.gw.url}/v1/sessions/${session.id}/turns?wait=true`, { input })
          return (await res.json()) as Turn & { error: string | null }
        }
        const inContainer = () => containersLabelled(`agent-gateway.session=${session.id}`)
        // the first turn runs the command and is seen in a container of the session while the model's answer is held
        const noted = held({ kind: 'text', text: 'noted: kiwi' })
        shared.mock.script(whereCommand(file), noted.step)
        const first = turn('remember the word kiwi')
        await waitForContainers(shared.gw.instance, (names) => names.length > 0)
        const containers = await inContainer()
        expect(containers).toHaveLength(1)
        noted.release()
        expect((await first).status, (await first).error ?? '').toBe('completed')
        expectWrittenInContainer(file, containers[0])
        shared.mock.script({ kind: 'text', text: 'the word was kiwi' })
        // copilot (of these the one with images) gets a localImage: its copy is mounted into the turn's container
        const image = agent === 'copilot'
        if (image) {
          writeFileSync(path.join(shared.gw.workspace, 'pixel.png'), png)
          chmodSync(path.join(shared.gw.workspace, 'pixel.png'), 0o644)
        }
        const second = await turn([
          { type: 'text', text: 'which word?' },
          ...(image ? [{ type: 'localImage', path: 'pixel.png' }] : []),
        ])
        expect(second.status, second.error ?? '').toBe('completed')
        expect(second.finalResponse).toBe('the word was kiwi')
        // the second turn's model request carried the first turn: the session resumed inside a container
        expect(requestInput(shared.mock)).toContain('remember the word kiwi')
        if (image) expect(requestInput(shared.mock)).toContain(png.toString('base64'))
        expect((await postJson(`${shared.gw.url}/v1/sessions/${session.id}/archive`, {})).status).toBe(200)
        await waitForContainers(shared.gw.instance, (names) => names.length === 0)
      })
    }
  })
})

async function waitUntil(done: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 50))
  }
}
