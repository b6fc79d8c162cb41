import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import { held } from '../mock-llm/index.js'
import {
  claudeAndGeminiSettings,
  expectCancelStopsContainer,
  oddDataDir,
  openUp,
  sharedContainerGateway,
} from '../support/container-gateway.js'
import { gatewayContainers } from '../support/containers.js'
import { postJson } from '../support/gateway.js'
import { dataUrlOf, onePixelPng as png } from '../support/png.js'
import { processesUnder } from '../support/processes.js'

/** /v1 runs with `isolation: "container"`: the agent runs in a fresh hardened container (real podman). */
describe('/v1 runs with isolation "container"', () => {
  // a DATA_DIR with `,`, `"`, `:` and a line break: the runs' images are mounted from it (see oddDataDir)
  const shared = sharedContainerGateway((mock) => ({
    CLI_LIST: 'sh',
    ...claudeAndGeminiSettings(mock),
    DATA_DIR: oddDataDir(),
  }))

  const submit = async (body: Record<string, unknown>) => {
    const res = await postJson(`${shared.gw.url}/v1/runs?wait=true`, body)
    return { res, run: (await res.json()) as Run & { error: string | null } }
  }

  /**
   * Submits a run whose model holds its answer until the gateway's containers were listed (while the agent waits
   * for it): the agent asked from a container, not from the host.
   */
  const submitSeen = async (body: Record<string, unknown>, answer: string) => {
    const answered = held({ kind: 'text', text: answer })
    shared.mock.script(answered.step)
    const finished = submit(body)
    const endedFirst = await Promise.race([answered.asked.then(() => undefined), finished.then((f) => f.run)])
    if (endedFirst)
      throw new Error(`ended before the model was asked: ${endedFirst.status} ${endedFirst.error}`)
    const seen = await gatewayContainers(shared.gw.instance)
    answered.release()
    const { run } = await finished
    return { run, seen }
  }

  it('codex runs in a container and answers from the mock; its images and output schema reach the model', async () => {
    // a 1x1 PNG: its copy (DATA_DIR/run-images) is mounted into the container, whose user (1000) is not the
    // gateway's (root); the schema is a file staged for the run, mounted too
    writeFileSync(path.join(shared.gw.workspace, 'pixel.png'), png)
    openUp(shared.gw.workspace)
    const schema = {
      type: 'object',
      properties: { answer: { type: 'string' } },
      required: ['answer'],
      additionalProperties: false,
    }
    shared.mock.script({ kind: 'text', text: '{"answer":"codex inside a container"}' })
    const { res, run } = await submit({
      agent: 'codex',
      prompt: 'hello from v1',
      isolation: 'container',
      images: ['pixel.png'],
      outputSchema: schema,
    })
    expect(res.status).toBe(200)
    expect(run.status, run.error ?? '').toBe('succeeded')
    expect(run.finalResponse).toBe('{"answer":"codex inside a container"}')
    expect(run.request.isolation).toBe('container')
    const asked = shared.mock.requests.at(-1)?.body as { text?: { format?: unknown } }
    expect(JSON.stringify(asked)).toContain(dataUrlOf(png))
    expect(asked.text?.format).toMatchObject({ type: 'json_schema', schema })
    // the copy went with the run
    expect(readdirSync(path.join(shared.gw.env.DATA_DIR!, 'run-images'))).toEqual([])
    expect(await gatewayContainers(shared.gw.instance)).toEqual([])
  })

  for (const { title, agent, prompt, answer } of [
    {
      title: 'claude runs in a container and answers from the mock',
      agent: 'claude',
      prompt: 'hello claude',
      answer: 'claude inside a container',
    },
    {
      title: 'gemini runs in a container (node and the Gemini CLI package in the image) and answers',
      agent: 'gemini',
      prompt: 'hello gemini',
      answer: 'gemini inside a container',
    },
    {
      title: 'acp:codex-acp runs in a container and answers from the mock',
      agent: 'acp:codex-acp',
      prompt: 'hello acp',
      answer: 'codex-acp inside a container',
    },
  ])
    it(title, async () => {
      const { run, seen } = await submitSeen({ agent, prompt, isolation: 'container' }, answer)
      expect(run.status, run.error ?? '').toBe('succeeded')
      expect(run.finalResponse).toBe(answer)
      expect(seen).toHaveLength(1)
      expect(await gatewayContainers(shared.gw.instance)).toEqual([])
    })

  it('cancel and timeout stop the container through the engine', async () => {
    const body = {
      agent: 'cli',
      isolation: 'container',
      command: { cli: 'sh', args: ['-c', 'echo started; exec sleep 3600'] },
    }
    await expectCancelStopsContainer(shared.gw, body)

    const { run: timedOut } = await submit({ ...body, timeoutMs: 1500 })
    expect(timedOut.status).toBe('timed_out')
    expect(await gatewayContainers(shared.gw.instance)).toEqual([])
    expect(processesUnder(shared.gw.workspace)).toEqual([])
  })

  it('a command that writes outside the mounted workspace fails; inside it succeeds', async () => {
    // both at once: neither writes where the other looks
    const [outside, inside] = await Promise.all([
      submit({
        agent: 'cli',
        isolation: 'container',
        command: { cli: 'sh', args: ['-c', 'hostname; echo x > /opt-escape.txt'] },
      }),
      submit({
        agent: 'cli',
        isolation: 'container',
        command: { cli: 'sh', args: ['-c', 'echo x > inside.txt'] },
      }),
    ])
    expect(outside.run.status).toBe('failed')
    expect(outside.run.exitCode).not.toBe(0)
    expect(inside.run.status, inside.run.error ?? '').toBe('succeeded')
    expect(existsSync(path.join(shared.gw.workspace, 'inside.txt'))).toBe(true)
  })

  it('a cwd whose name holds `:`, `=`, `,`, `"` or a line break is mounted (podman); one holding CR LF is refused (400)', async () => {
    const made = (name: string) => {
      const dir = path.join(shared.gw.workspace, name)
      mkdirSync(dir)
      writeFileSync(path.join(dir, 'given.txt'), `given in ${name}\n`)
      openUp(dir)
      return dir
    }
    const body = (cwd: string) => ({
      agent: 'cli',
      isolation: 'container',
      cwd,
      command: { cli: 'sh', args: ['-c', 'pwd > seen.txt; cat given.txt >> seen.txt'] },
    })
    // podman reads a quoted --mount field whole (unquoted, `e,source=` would name a second source); the runs at
    // once (a container's start and end mostly wait on the engine), each in its own directory
    await Promise.all(
      ['a:b', 'c=d:ro', 'e,source=', 'f"g', 'h\ni'].map(async (name) => {
        const dir = made(name)
        const { run } = await submit(body(name))
        expect(run.status, run.error ?? '').toBe('succeeded')
        expect(readFileSync(path.join(dir, 'seen.txt'), 'utf8')).toBe(`${dir}\ngiven in ${name}\n`)
      }),
    )
    // Go's CSV reader drops a CR before a LF, even in quotes: podman cannot mount that path
    made('j\r\nk')
    const { res, run } = await submit(body('j\r\nk'))
    expect(res.status).toBe(400)
    expect(run).toMatchObject({
      error: {
        code: 'invalid_request',
        message: expect.stringContaining('holds a carriage return before a line break'),
      },
    })
    // a process run there is fine: only a container mount reads the characters
    const local = await submit({ ...body('j\r\nk'), isolation: 'process' })
    expect(local.run.status, local.run.error ?? '').toBe('succeeded')
    expect(await gatewayContainers(shared.gw.instance)).toEqual([])
  })

  it('refuses an image outside the allowlist, and an image without container isolation', async () => {
    const other = await postJson(`${shared.gw.url}/v1/runs`, {
      agent: 'codex',
      prompt: 'x',
      isolation: 'container',
      image: 'docker.io/library/alpine:3',
    })
    expect(other.status).toBe(400)
    expect(await other.text()).toMatch(/not allowed/)
    const noIsolation = await postJson(`${shared.gw.url}/v1/runs`, {
      agent: 'codex',
      prompt: 'x',
      image: 'x.io/y:1',
    })
    expect(noIsolation.status).toBe(400)
  })

  it('/health and /v1/agents report the container engine', async () => {
    const health = (await (await fetch(`${shared.gw.url}/health`)).json()) as {
      containers: Record<string, unknown>
    }
    expect(health.containers).toMatchObject({
      kind: 'container',
      engine: 'podman',
      available: true,
      limits: { network: 'host', pidsLimit: 256, user: '1000:1000', tmpfsSize: '256m', memory: null },
    })
    expect(health.containers.version).toMatch(/^\d+\.\d+/)
    const agents = (await (await fetch(`${shared.gw.url}/v1/agents`)).json()) as {
      containers: Record<string, unknown>
    }
    expect(agents.containers).toMatchObject({ engine: 'podman', available: true })
  })
})
