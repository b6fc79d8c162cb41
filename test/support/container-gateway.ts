import { chmodSync, mkdirSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, expect } from 'vitest'
import type { Run } from '../../src/protocol/runs.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { engineEnv, testEngine, testImage } from './container-image.js'
import { containersLabelled, gatewayContainers, testInstance, waitForContainers } from './containers.js'
import { gatewayModules, postJson, startGateway, testApiKey } from './gateway.js'
import { tempDir } from './temp.js'

/**
 * The settings of a gateway whose containers run with real podman in the test image: host networking (the
 * mock model listens on the host's loopback), uid 1000, and `instance` as its GATEWAY_INSTANCE label.
 */
export function containerSettings(instance: string): Record<string, string | undefined> {
  return {
    ...engineEnv(),
    CONTAINER_ENGINE: testEngine,
    CONTAINER_NETWORK: 'host',
    CONTAINER_USER: '1000:1000',
    CONTAINER_IMAGE: testImage(),
    GATEWAY_INSTANCE: instance,
  }
}

/**
 * A gateway whose containers run with real podman in the test image: host networking (the mock model listens
 * on the host's loopback), its own GATEWAY_INSTANCE label (so a test can list exactly its containers), and a
 * workspace and agent homes (CODEX_HOME, GEMINI_CLI_HOME, CLAUDE_CONFIG_DIR, COPILOT_HOME) the container's unprivileged
 * user (1000) can write.
 */
export async function startContainerGateway(
  mock: MockLlm | null,
  overrides: Record<string, string | undefined> = {},
) {
  const instance = testInstance()
  const gw = await startGateway(mock, { ...containerSettings(instance), ...overrides })
  openUp(gw.workspace)
  for (const home of [
    gw.env.CODEX_HOME,
    gw.env.GEMINI_CLI_HOME,
    gw.env.CLAUDE_CONFIG_DIR,
    gw.env.COPILOT_HOME,
  ])
    if (home) openUp(home)
  return { ...gw, instance }
}

/**
 * A data dir whose path holds what a `--mount` field cannot carry unquoted (`,`, `"`, a line break) and a `:`. A
 * run's or a codex container session's image copies are mounted from DATA_DIR/run-images (every codex container
 * session mounts its image directory): with such a DATA_DIR no codex container session started, nor any container
 * run with images ("cannot be mounted into a container"), until they were mounted at fixed container paths and
 * podman's fields quoted (process/container/bind-mount.ts).
 */
export const oddDataDir = () => path.join(tempDir('data-'), 'd,a"t:a\nx')

/** Lets uid 1000 inside a container write a root-owned test directory (and read what is in it). */
export function openUp(dir: string): void {
  chmodSync(dir, 0o777)
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name)
    if (entry.isDirectory()) openUp(p)
    else chmodSync(p, 0o666)
  }
}

/** Starts a run that keeps its container up, cancels it, and checks the engine stopped that container. */
export async function expectCancelStopsContainer(
  gw: { url: string; instance: string },
  body: Record<string, unknown>,
): Promise<void> {
  const res = await postJson(`${gw.url}/v1/runs`, body)
  expect(res.status).toBe(202)
  const { id } = (await res.json()) as Run
  await waitForContainers(gw.instance, (names) => names.length === 1)
  expect(await containersLabelled(`agent-gateway.run=${id}`)).toHaveLength(1)
  expect((await postJson(`${gw.url}/v1/runs/${id}/cancel`, {})).status).toBeLessThan(300)
  await waitForContainers(gw.instance, (names) => names.length === 0)
  const cancelled = (await (await fetch(`${gw.url}/v1/runs/${id}`)).json()) as Run
  expect(cancelled.status).toBe('cancelled')
}

export type ContainerGateway = Awaited<ReturnType<typeof startContainerGateway>>

/**
 * A mock model and a container gateway with the settings `overrides` gives for that mock, for a describe block;
 * after it both are closed and none of the gateway's containers is left.
 */
export function sharedContainerGateway(
  overrides: (mock: MockLlm) => Record<string, string | undefined> = () => ({}),
) {
  const shared = {} as { mock: MockLlm; gw: ContainerGateway }
  gatewayModules()
  beforeAll(async () => {
    shared.mock = await startMockLlm()
    shared.gw = await startContainerGateway(shared.mock, overrides(shared.mock))
  }, 120_000)
  afterAll(async () => {
    await shared.gw?.close()
    await shared.mock?.close()
    expect(await gatewayContainers(shared.gw.instance)).toEqual([])
  })
  return shared
}

/** Settings for claude and gemini in a container against `mock` (a Gemini home the container's user can write). */
export function claudeAndGeminiSettings(mock: MockLlm): Record<string, string> {
  const geminiHome = tempDir('gemini-home-')
  mkdirSync(path.join(geminiHome, '.gemini'))
  return {
    ANTHROPIC_BASE_URL: mock.url,
    ANTHROPIC_API_KEY: testApiKey,
    CLAUDE_CODE_MAX_RETRIES: '0',
    GEMINI_CLI_HOME: geminiHome,
    GEMINI_MODEL: 'gemini-2.5-flash',
    GEMINI_API_KEY: 'gemini-test-key-0123456789',
    GOOGLE_GEMINI_BASE_URL: mock.url,
  }
}
