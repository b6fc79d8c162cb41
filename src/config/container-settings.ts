import { z } from 'zod'
import { optionalString, setting } from './setting-kinds.js'

/**
 * Settings of the container runner (issue 12): seed 001's Docker mode (CODEX_DOCKER_IMAGE, LITELLM_*) and
 * `isolation: "container"` runs. Kept in their own file, each with its documentation; schema.ts spreads them into the one settings schema.
 */
const optionalPositiveInt = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v.trim() === '') return undefined
    const n = Number(v)
    if (!Number.isInteger(n) || n < 1) {
      ctx.addIssue({ code: 'custom', message: `expected a positive integer, got "${v}"` })
      return z.NEVER
    }
    return n
  })

const stringList = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )

/** `registry.example/name:tag`: a registry host (with a dot or a port, or localhost) before the first slash. */
const fullyQualified =
  /^(localhost|[a-z0-9-]+(\.[a-z0-9-]+)+|[a-z0-9-]+:\d+)(:\d+)?\/[a-z0-9._/-]+([:@][\w.:-]+)?$/i
const imageName = z.string().regex(fullyQualified, 'expected a fully qualified image (registry/name:tag)')

export const containerSettings = {
  CODEX_DOCKER_IMAGE: setting(
    '(unset)',
    'Seed 001 Docker mode: every POST /run runs `<engine> run --rm -i ... IMAGE <cli> <args>` in this image.',
    optionalString,
  ),
  LITELLM_BASE_URL: setting(
    '(unset)',
    'Docker mode: passed into the container as LITELLM_BASE_URL (a request env may override it).',
    optionalString,
  ),
  LITELLM_API_KEY: setting(
    '(unset)',
    'Docker mode: passed into the container as LITELLM_API_KEY (by name, never on a command line).',
    optionalString,
  ),
  CONTAINER_ENGINE: setting(
    'docker',
    'Container engine CLI: `docker`, `podman` (a drop-in CLI) or a path to one of them.',
    z
      .string()
      .optional()
      .transform((v) => (v === undefined || v.trim() === '' ? 'docker' : v.trim())),
  ),
  CONTAINER_NETWORK: setting(
    'bridge',
    'Network of agent containers: none, host, bridge or a named network.',
    z
      .string()
      .optional()
      .transform((v) => (v === undefined || v.trim() === '' ? 'bridge' : v.trim()))
      .pipe(
        z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected none, host, bridge or a network name'),
      ),
  ),
  CONTAINER_IMAGE: setting(
    '(CODEX_DOCKER_IMAGE)',
    'Image (fully qualified name) of runs and sessions with `isolation: "container"`.',
    optionalString.pipe(imageName.optional()),
  ),
  CONTAINER_IMAGES: setting(
    '(CONTAINER_IMAGE only)',
    'More images (comma-separated, fully qualified) a request may pick with `image`.',
    stringList.pipe(z.array(imageName)),
  ),
  CONTAINER_MEMORY: setting(
    '(no limit)',
    'Memory limit per agent container (e.g. 2g).',
    optionalString.pipe(
      z
        .string()
        .regex(/^\d+[bkmg]?$/i, 'expected a size such as 512m or 2g')
        .optional(),
    ),
  ),
  CONTAINER_CPUS: setting(
    '(no limit)',
    'CPU limit per agent container (e.g. 1.5).',
    optionalString.pipe(
      z
        .string()
        .regex(/^\d+(\.\d+)?$/, 'expected a number of CPUs such as 1.5')
        .optional(),
    ),
  ),
  CONTAINER_PIDS_LIMIT: setting(
    '256',
    'Most processes an agent container may run.',
    optionalPositiveInt.transform((n) => n ?? 256),
  ),
  CONTAINER_USER: setting(
    '(gateway uid, or 1000 as root)',
    'uid[:gid] agents run as inside containers (never root); it must be able to write workspaces.',
    optionalString.pipe(
      z
        .string()
        .regex(/^\d+(:\d+)?$/, 'expected uid or uid:gid')
        .optional(),
    ),
  ),
  CONTAINER_TMPFS_SIZE: setting(
    '256m',
    'Size of the tmpfs at /tmp (the root is read-only).',
    optionalString.transform((v) => v ?? '256m'),
  ),
  CONTAINER_ULIMITS: setting(
    "(the engine's)",
    'ulimits of agent containers, comma-separated `name=soft[:hard]` (e.g. nofile=1024:20000,nproc=1000:1000); ' +
      "needed where the engine's defaults exceed what the host grants (podman's Docker API ignores containers.conf's).",
    stringList.pipe(
      z.array(
        z.string().regex(/^[a-z]+=-?\d+(:-?\d+)?$/, 'expected name=soft[:hard], e.g. nofile=1024:20000'),
      ),
    ),
  ),
  GATEWAY_INSTANCE: setting(
    '(hash of DATA_DIR)',
    'Label on every container this gateway starts; at start it removes containers a crashed predecessor left.',
    optionalString.pipe(
      z
        .string()
        .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected letters, digits, _ . -')
        .optional(),
    ),
  ),
}
