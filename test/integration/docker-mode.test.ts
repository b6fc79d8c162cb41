import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { startContainerGateway } from '../support/container-gateway.js'
import { testImage } from '../support/container-image.js'
import { gatewayContainers } from '../support/containers.js'
import { gatewayModules, postJson, readNdjson } from '../support/gateway.js'
import { processesUnder } from '../support/processes.js'

type Gateway = Awaited<ReturnType<typeof startContainerGateway>>

gatewayModules()

/** Seed 001's Docker mode: CODEX_DOCKER_IMAGE set, every POST /run in a fresh container (real podman). */
describe('POST /run in Docker mode (CODEX_DOCKER_IMAGE)', () => {
  let mock: MockLlm
  let gw: Gateway

  beforeAll(async () => {
    mock = await startMockLlm()
    gw = await startContainerGateway(mock, {
      CODEX_DOCKER_IMAGE: testImage(),
      CONTAINER_IMAGE: undefined,
      CLI_LIST: 'sh,codex',
      MODEL_LIST: 'auto,gpt-litellm-1,gpt-litellm-2',
      LITELLM_BASE_URL: 'http://litellm.internal:4000',
      LITELLM_API_KEY: 'sk-litellm-from-server',
    })
  }, 120_000)

  afterAll(async () => {
    await gw?.close()
    await mock?.close()
    expect(await gatewayContainers(gw.instance)).toEqual([])
  })

  const text = (frames: Record<string, unknown>[], type: string) =>
    frames
      .filter((f) => f.type === type)
      .map((f) => f.data)
      .join('')

  // the timeout case's gateway of its own waits out its 3 s while the file's gateway takes the other cases, one
  // after another (each counts that gateway's containers)
  describe.concurrent('two gateways at once', () => {
    describe.sequential("the file's gateway", () => {
      it('runs the cli inside the container with the seed env rules', async () => {
        const script = [
          'hostname',
          'id -u',
          'echo "provider=$CLI_PROVIDER_NAME"',
          'echo "base=$LITELLM_BASE_URL"',
          'echo "key=$LITELLM_API_KEY"',
          'echo "model=$LITELLM_MODEL"',
          'echo "extra=$EXTRA_SETTING"',
        ].join('; ')
        const res = await postJson(`${gw.url}/run`, {
          cli: 'sh',
          args: ['-c', script, 'sh', '--model', 'auto'],
          env: { EXTRA_SETTING: 'request-value' },
        })
        expect(res.status).toBe(200)
        const frames = await readNdjson(res)
        expect(frames.at(-1)).toEqual({ type: 'exit', code: 0 })
        const lines = text(frames, 'stdout').trim().split('\n')
        expect(lines[0]).toMatch(new RegExp(`^agw-${gw.instance}-`))
        expect(lines.slice(1)).toEqual([
          '1000',
          'provider=sh',
          'base=http://litellm.internal:4000',
          // the inherited key reached the container; the gateway scrubs its value from the output (issue 9)
          'key=[REDACTED]',
          'model=gpt-litellm-1',
          'extra=request-value',
        ])
        expect(await gatewayContainers(gw.instance)).toEqual([])
      })

      it('infers LITELLM_MODEL from -m; a LITELLM_MODEL in the request env wins', async () => {
        const script = 'echo "$LITELLM_MODEL $(printf %s "$LITELLM_API_KEY" | wc -c)"'
        const inferred = await postJson(`${gw.url}/run`, {
          cli: 'sh',
          args: ['-c', script, 'sh', '-m', 'gpt-explicit'],
        })
        expect(text(await readNdjson(inferred), 'stdout')).toBe(
          `gpt-explicit ${'sk-litellm-from-server'.length}\n`,
        )
        const given = await postJson(`${gw.url}/run`, {
          cli: 'sh',
          args: ['-c', script, 'sh', '-m', 'gpt-explicit'],
          env: { LITELLM_MODEL: 'model-from-request' },
        })
        expect(text(await readNdjson(given), 'stdout')).toBe(
          `model-from-request ${'sk-litellm-from-server'.length}\n`,
        )
      })

      it('codex in the container answers from the mock model', async () => {
        mock.script({ kind: 'text', text: 'answer from inside a container' })
        const res = await postJson(`${gw.url}/run`, {
          cli: 'codex',
          args: ['exec', '--json', '--skip-git-repo-check', 'say hello'],
        })
        const frames = await readNdjson(res)
        expect(frames.at(-1), text(frames, 'stderr')).toEqual({ type: 'exit', code: 0 })
        expect(text(frames, 'stdout')).toContain('answer from inside a container')
        expect(mock.lastUserText(mock.requests[0]!)).toContain('say hello')
      })

      it("the seed's example (codex args naming no subcommand) goes to the image unchanged, judged as `exec <args>`", async () => {
        // README: {"cli": "codex", "args": ["--model", "gpt-4"], "stdin": "..."}; the seed's image runs it as
        // `codex exec --model gpt-4`. This test image runs codex as given: codex itself answers it needs a terminal.
        const res = await postJson(`${gw.url}/run`, {
          cli: 'codex',
          args: ['--model', 'gpt-4'],
          stdin: 'Prompt text from the README',
        })
        expect(res.status, await res.clone().text()).toBe(200)
        const frames = await readNdjson(res)
        expect(frames.at(-1)).toEqual({ type: 'exit', code: 1 })
        expect(text(frames, 'stderr')).toContain('stdin is not a terminal')
        // what `codex exec` may not do stays refused, before any container starts
        for (const args of [
          ['--model', 'gpt-4', '--dangerously-bypass-approvals-and-sandbox'],
          ['-s', 'danger-full-access'],
          ['-c', 'model_provider=evil', 'a prompt'],
        ]) {
          const refused = await postJson(`${gw.url}/run`, { cli: 'codex', args })
          expect(refused.status, args.join(' ')).toBe(400)
        }
        expect(await gatewayContainers(gw.instance)).toEqual([])
      })

      it('the env policy refuses what it refuses locally', async () => {
        const res = await postJson(`${gw.url}/run`, {
          cli: 'sh',
          args: ['-c', 'true'],
          env: { LD_PRELOAD: '/x.so' },
        })
        expect(res.status).toBe(400)
        expect(await res.text()).toMatch(/LD_PRELOAD/)
        // a request may not choose the credentials either: the key comes from the server only
        const key = await postJson(`${gw.url}/run`, {
          cli: 'sh',
          args: ['-c', 'true'],
          env: { LITELLM_API_KEY: 'sk-from-request' },
        })
        expect(key.status).toBe(400)
        expect(await key.text()).toMatch(/LITELLM_API_KEY/)
        expect(await gatewayContainers(gw.instance)).toEqual([])
      })

      it('a client that disconnects stops its container', async () => {
        const controller = new AbortController()
        const res = await fetch(`${gw.url}/run`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ cli: 'sh', args: ['-c', 'echo started; sleep 60'] }),
          signal: controller.signal,
        })
        const reader = res.body!.getReader()
        const first = new TextDecoder().decode((await reader.read()).value)
        expect(first).toContain('started')
        expect(await gatewayContainers(gw.instance)).toHaveLength(1)
        controller.abort()
        const deadline = Date.now() + 20_000
        while ((await gatewayContainers(gw.instance)).length > 0 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 100))
        expect(await gatewayContainers(gw.instance)).toEqual([])
      })
    })

    it('a timeout ends the stream with exit 124 and stops the container through the engine', async () => {
      // a gateway of its own with a short RUN_RESPONSE_TIMEOUT_SECONDS (the others' runs must not race it)
      const short = await startContainerGateway(mock, {
        CODEX_DOCKER_IMAGE: testImage(),
        CONTAINER_IMAGE: undefined,
        CLI_LIST: 'sh',
        RUN_RESPONSE_TIMEOUT_SECONDS: '3',
      })
      try {
        const res = await postJson(`${short.url}/run`, { cli: 'sh', args: ['-c', 'echo started; sleep 60'] })
        const frames = await readNdjson(res)
        expect(frames.at(-1)).toEqual({ type: 'exit', code: 124 })
        expect(text(frames, 'stderr')).toContain('timed out')
        expect(await gatewayContainers(short.instance)).toEqual([])
        expect(processesUnder(short.workspace)).toEqual([])
      } finally {
        await short.close()
      }
    })
  })
})
