import { createHash } from 'node:crypto'
import os from 'node:os'
import { modelUpstreams } from '../agents/model-upstreams.js'
import type { Placement } from '../agents/placement.js'
import { ConfigError } from '../config/config-error.js'
import type { Config } from '../config/load.js'
import { mountSyntax, unmountableReason } from '../process/container/bind-mount.js'
import { defaultContainerUser, engineEnvOf } from '../process/container/container-options.js'
import { ContainerProcessRunner } from '../process/container/container-runner.js'
import { egressSettings } from '../process/key-proxy/egress.js'
import { KeyProxy } from '../process/key-proxy/key-proxy.js'
import { LocalProcessRunner } from '../process/local-runner.js'
import { RoutingRunner } from '../process/routing-runner.js'
import type { Redactor } from '../process/secrets.js'
import { AppError } from '../protocol/errors.js'

/** The image `isolation: "container"` uses when a request names none (CONTAINER_IMAGE, else Docker mode's). */
export function defaultImage(config: Config): string | undefined {
  return config.CONTAINER_IMAGE ?? config.CODEX_DOCKER_IMAGE
}

/** Whether this gateway runs anything in containers (an image is configured). */
export function usesContainers(config: Config): boolean {
  return defaultImage(config) !== undefined
}

/** The images a request may name: CONTAINER_IMAGE, Docker mode's CODEX_DOCKER_IMAGE and CONTAINER_IMAGES. */
export function allowedImages(config: Config): string[] {
  const images = [config.CONTAINER_IMAGE, config.CODEX_DOCKER_IMAGE, ...config.CONTAINER_IMAGES]
  return [...new Set(images.filter((i): i is string => !!i))]
}

/** GATEWAY_INSTANCE, else a hash of DATA_DIR: a restarted gateway finds its predecessor's containers. */
export function gatewayInstance(config: Config): string {
  return config.GATEWAY_INSTANCE ?? createHash('sha256').update(config.DATA_DIR).digest('hex').slice(0, 12)
}

/** The runner injected into every driver: local process groups, and containers for `isolation: "container"`. */
export function createRunner(config: Config, serverEnv: NodeJS.ProcessEnv): RoutingRunner {
  checkContainerDirs(config, serverEnv, os.tmpdir())
  const image = defaultImage(config)
  const containers = new ContainerProcessRunner({
    engine: config.CONTAINER_ENGINE,
    ...(image ? { image } : {}),
    network: config.CONTAINER_NETWORK,
    ...(config.CONTAINER_MEMORY ? { memory: config.CONTAINER_MEMORY } : {}),
    ...(config.CONTAINER_CPUS ? { cpus: config.CONTAINER_CPUS } : {}),
    pidsLimit: config.CONTAINER_PIDS_LIMIT,
    user: config.CONTAINER_USER ?? defaultContainerUser(),
    tmpfsSize: config.CONTAINER_TMPFS_SIZE,
    ...(config.CONTAINER_ULIMITS.length ? { ulimits: config.CONTAINER_ULIMITS } : {}),
    instance: gatewayInstance(config),
    engineEnv: engineEnvOf(serverEnv),
  })
  return new RoutingRunner(
    new LocalProcessRunner({ outputDrainMs: config.OUTPUT_DRAIN_MS }),
    containers,
    image !== undefined,
  )
}

/**
 * The key proxy (MODEL_KEY_PROXY) in front of every provider whose key the gateway holds, on 127.0.0.1; the
 * tokens it lends agent processes are redacted like the keys while they live. None when no key is configured.
 * Its thread starts with the first agent process it lends a key to, not here: an idle gateway has none.
 */
export function keyProxyFor(
  config: Config,
  serverEnv: NodeJS.ProcessEnv,
  redactor: Redactor,
): KeyProxy | undefined {
  const upstreams = modelUpstreams(config, serverEnv)
  if (upstreams.length === 0) return undefined
  const egress = egressSettings(serverEnv)
  return KeyProxy.create(
    upstreams,
    {
      onToken: (token, live) => (live ? redactor.add(token) : redactor.remove(token)),
      onThreadEnded: (error) =>
        process.emitWarning(
          `the key proxy's thread ended${error ? ` (${error.message})` : ''}; starting it again on its port`,
          { code: 'KEY_PROXY_THREAD_ENDED' },
        ),
    },
    egress ? { egress } : {},
  )
}

/**
 * The placement a request asked for (`isolation`, `image`), checked: a container needs a configured image,
 * and a named image must be on the allowlist. Undefined for a local run.
 */
export function containerPlacement(
  fields: { isolation?: 'process' | 'container' | undefined; image?: string | undefined },
  config: Config,
): Placement | undefined {
  if (fields.isolation !== 'container') {
    if (fields.image) throw new AppError('invalid_request', '`image` needs `isolation: "container"`')
    return undefined
  }
  const image = fields.image ?? defaultImage(config)
  if (!image)
    throw new AppError(
      'invalid_request',
      'container isolation is not configured on this server: its operator sets CONTAINER_IMAGE (an image with the agent CLIs) and CONTAINER_ENGINE (docker, podman or a path); without them, leave out `isolation` to run the agent as a local process',
    )
  if (!allowedImages(config).includes(image))
    throw new AppError(
      'invalid_request',
      `image "${image}" is not allowed; allowed: ${allowedImages(config).join(', ')} (CONTAINER_IMAGE, CONTAINER_IMAGES)`,
    )
  return { isolation: 'container', image }
}

/**
 * Refuses (400) a container run's or session's cwd that CONTAINER_ENGINE cannot mount safely (bind-mount.ts): with
 * podman, a path holding a carriage return before a line break; with any other engine, one holding a `,`, a `"` or
 * a line break. A `:` is fine everywhere.
 */
export function checkContainerCwd(placement: Placement | undefined, cwd: string, config: Config): void {
  const reason = placement ? unmountableReason(cwd, 'cwd', mountSyntax(config.CONTAINER_ENGINE)) : undefined
  if (reason) throw new AppError('invalid_request', `${reason}, or leave out \`isolation\``, { cwd })
}

/**
 * Refuses to start (ConfigError) a gateway with containers whose own directories CONTAINER_ENGINE cannot mount
 * (bind-mount.ts): DATA_DIR (a run's or codex session's image copies are mounted from DATA_DIR/run-images, every
 * codex container session's; gemini's home by default), the temp dir (a launch's staged files), CODEX_HOME,
 * CLAUDE_CONFIG_DIR, GEMINI_CLI_HOME and COPILOT_HOME (mounted at their own paths). Otherwise each container launch would fail, or every codex session.
 */
export function checkContainerDirs(config: Config, serverEnv: NodeJS.ProcessEnv, tmpDir: string): void {
  if (!usesContainers(config)) return
  const syntax = mountSyntax(config.CONTAINER_ENGINE)
  const dirs: [string, string | undefined][] = [
    ['DATA_DIR', config.DATA_DIR],
    ['the temp dir (TMPDIR)', tmpDir],
    ['CODEX_HOME', config.CODEX_HOME],
    ['CLAUDE_CONFIG_DIR', serverEnv.CLAUDE_CONFIG_DIR],
    ['GEMINI_CLI_HOME', serverEnv.GEMINI_CLI_HOME],
    ['COPILOT_HOME', serverEnv.COPILOT_HOME],
  ]
  for (const [name, dir] of dirs) {
    const reason = dir === undefined ? undefined : unmountableReason(dir, name, syntax)
    if (reason)
      throw new ConfigError(
        `${reason} (CONTAINER_ENGINE=${config.CONTAINER_ENGINE}); containers are configured (CONTAINER_IMAGE or CODEX_DOCKER_IMAGE)`,
      )
  }
}
