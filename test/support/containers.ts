import { execFile, execFileSync } from 'node:child_process'
import { promisify } from 'node:util'
import { engineEnv, testEngine } from './container-image.js'

/**
 * A GATEWAY_INSTANCE for one test gateway: `agwtest-<suite>-<random>`, where the suite id comes from
 * global-setup (AGW_TEST_SUITE). The suite's teardown removes only its own instances' containers, so two
 * suites running at once on one machine never touch each other's containers.
 */
export function testInstance(): string {
  return `${suitePrefix()}${Math.random().toString(36).slice(2, 8)}`
}

const execFileAsync = promisify(execFile)

function suitePrefix(suite = process.env.AGW_TEST_SUITE ?? `p${process.pid}`): string {
  return `agwtest-${suite}-`
}

/**
 * The engine's `ps`, without blocking: the gateway under test runs in this process, and a synchronous call stalled
 * it (its agents' model requests, its container events) for every poll of waitForContainers.
 */
async function list(filter: string): Promise<string[]> {
  const { stdout } = await execFileAsync(
    testEngine,
    ['ps', '--all', '--filter', filter, '--format', '{{.Names}}'],
    { env: engineEnv(), encoding: 'utf8' },
  )
  return stdout.split('\n').filter(Boolean)
}

/** Containers (running or not) carrying a gateway instance label; every test must leave none. */
export async function gatewayContainers(instance: string): Promise<string[]> {
  return list(`label=agent-gateway.instance=${instance}`)
}

/** Containers carrying a label (`agent-gateway.session=<id>`, `agent-gateway.run=<id>`). */
export async function containersLabelled(label: string): Promise<string[]> {
  return list(`label=${label}`)
}

/** Every container of this suite's gateways (named `agw-<instance>-...`, see testInstance). */
export async function suiteContainers(): Promise<string[]> {
  return containersOfSuites([process.env.AGW_TEST_SUITE ?? `p${process.pid}`])
}

/** The containers of the given suites' gateways (a killed run's, by its suite id: suite-roots.ts). */
export async function containersOfSuites(suites: string[]): Promise<string[]> {
  const prefixes = suites.map((suite) => `agw-${suitePrefix(suite)}`)
  return (await list('label=agent-gateway=1')).filter((name) => prefixes.some((p) => name.startsWith(p)))
}

export async function removeContainers(names: string[]): Promise<void> {
  if (names.length > 0)
    // killed at once: podman would first wait 10 s per container for its stop
    execFileSync(testEngine, ['rm', '--force', '--time', '0', ...names], { env: engineEnv(), stdio: 'pipe' })
}

/** Polls the instance's containers until `done` holds for them (bounded); returns the last list. */
export async function waitForContainers(
  instance: string,
  done: (names: string[]) => boolean,
  timeoutMs = 30_000,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs
  let names = await gatewayContainers(instance)
  while (!done(names)) {
    if (Date.now() > deadline) throw new Error(`containers of ${instance} stayed ${JSON.stringify(names)}`)
    await new Promise((r) => setTimeout(r, 100))
    names = await gatewayContainers(instance)
  }
  return names
}
