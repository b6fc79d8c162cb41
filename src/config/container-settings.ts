import { z } from 'zod'

/**
 * Settings of the container runner (issue 12): seed 001's Docker mode (CODEX_DOCKER_IMAGE, LITELLM_*) and
 * `isolation: "container"` runs. Kept in their own file; schema.ts spreads them into the one settings schema.
 */
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()))

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
  CODEX_DOCKER_IMAGE: optionalString,
  LITELLM_BASE_URL: optionalString,
  LITELLM_API_KEY: optionalString,
  CONTAINER_ENGINE: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? 'docker' : v.trim())),
  CONTAINER_NETWORK: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? 'bridge' : v.trim()))
    .pipe(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected none, host, bridge or a network name')),
  CONTAINER_IMAGE: optionalString.pipe(imageName.optional()),
  CONTAINER_IMAGES: stringList.pipe(z.array(imageName)),
  CONTAINER_MEMORY: optionalString.pipe(
    z
      .string()
      .regex(/^\d+[bkmg]?$/i, 'expected a size such as 512m or 2g')
      .optional(),
  ),
  CONTAINER_CPUS: optionalString.pipe(
    z
      .string()
      .regex(/^\d+(\.\d+)?$/, 'expected a number of CPUs such as 1.5')
      .optional(),
  ),
  CONTAINER_PIDS_LIMIT: optionalPositiveInt.transform((n) => n ?? 256),
  CONTAINER_USER: optionalString.pipe(
    z
      .string()
      .regex(/^\d+(:\d+)?$/, 'expected uid or uid:gid')
      .optional(),
  ),
  CONTAINER_TMPFS_SIZE: optionalString.transform((v) => v ?? '256m'),
  CONTAINER_ULIMITS: stringList.pipe(
    z.array(z.string().regex(/^[a-z]+=-?\d+(:-?\d+)?$/, 'expected name=soft[:hard], e.g. nofile=1024:20000')),
  ),
  GATEWAY_INSTANCE: optionalString.pipe(
    z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected letters, digits, _ . -')
      .optional(),
  ),
}

export const containerSettingDocs: Record<
  keyof typeof containerSettings,
  { default: string; description: string }
> = {
  CODEX_DOCKER_IMAGE: {
    default: '(unset)',
    description:
      'Seed 001 Docker mode: every POST /run runs `<engine> run --rm -i ... IMAGE <cli> <args>` in this image.',
  },
  LITELLM_BASE_URL: {
    default: '(unset)',
    description:
      'Docker mode: passed into the container as LITELLM_BASE_URL (a request env may override it).',
  },
  LITELLM_API_KEY: {
    default: '(unset)',
    description:
      'Docker mode: passed into the container as LITELLM_API_KEY (by name, never on a command line).',
  },
  CONTAINER_ENGINE: {
    default: 'docker',
    description: 'Container engine CLI: `docker`, `podman` (a drop-in CLI) or a path to one of them.',
  },
  CONTAINER_NETWORK: {
    default: 'bridge',
    description: 'Network of agent containers: none, host, bridge or a named network.',
  },
  CONTAINER_IMAGE: {
    default: '(CODEX_DOCKER_IMAGE)',
    description: 'Image (fully qualified name) of runs and sessions with `isolation: "container"`.',
  },
  CONTAINER_IMAGES: {
    default: '(CONTAINER_IMAGE only)',
    description: 'More images (comma-separated, fully qualified) a request may pick with `image`.',
  },
  CONTAINER_MEMORY: { default: '(no limit)', description: 'Memory limit per agent container (e.g. 2g).' },
  CONTAINER_CPUS: { default: '(no limit)', description: 'CPU limit per agent container (e.g. 1.5).' },
  CONTAINER_PIDS_LIMIT: { default: '256', description: 'Most processes an agent container may run.' },
  CONTAINER_USER: {
    default: '(gateway uid, or 1000 as root)',
    description:
      'uid[:gid] agents run as inside containers (never root); it must be able to write workspaces.',
  },
  CONTAINER_TMPFS_SIZE: {
    default: '256m',
    description: 'Size of the tmpfs at /tmp (the root is read-only).',
  },
  CONTAINER_ULIMITS: {
    default: "(the engine's)",
    description:
      'ulimits of agent containers, comma-separated `name=soft[:hard]` (e.g. nofile=1024:20000,nproc=1000:1000); ' +
      "needed where the engine's defaults exceed what the host grants (podman's Docker API ignores containers.conf's).",
  },
  GATEWAY_INSTANCE: {
    default: '(hash of DATA_DIR)',
    description:
      'Label on every container this gateway starts; at start it removes containers a crashed predecessor left.',
  },
}
