/** How the container runner starts containers (from the CONTAINER_* settings). */
export interface ContainerOptions {
  /** `docker`, `podman` or a path to either. */
  engine: string
  /** Image used when a launch names none. */
  image?: string
  /** none, host, bridge or a named network. */
  network: string
  memory?: string
  cpus?: string
  pidsLimit: number
  /** uid[:gid] inside the container; never root. */
  user: string
  tmpfsSize: string
  /** `name=soft[:hard]` entries passed as `--ulimit` (none: the engine's defaults). */
  ulimits?: string[]
  /** Label value shared by every container of this gateway (found again after a crash). */
  instance: string
  /** The environment the engine CLI itself needs (PATH, CONTAINERS_CONF, DOCKER_HOST, ...). */
  engineEnv: Record<string, string>
}

/** Labels every container of the gateway carries. */
export const labelPrefix = 'agent-gateway'
export const instanceLabel = `${labelPrefix}.instance`

/** Names of the engine's own environment taken from the server's env. */
const engineEnvNames = [
  'PATH',
  'HOME',
  'TMPDIR',
  'XDG_RUNTIME_DIR',
  'XDG_CONFIG_HOME',
  'XDG_DATA_HOME',
  'CONTAINERS_CONF',
  'CONTAINERS_STORAGE_CONF',
  'CONTAINERS_REGISTRIES_CONF',
  'CONTAINER_HOST',
  'CONTAINER_CONNECTION',
  'DOCKER_HOST',
  'DOCKER_CONFIG',
  'DOCKER_CONTEXT',
  'DOCKER_TLS_VERIFY',
  'DOCKER_CERT_PATH',
]

export function engineEnvOf(serverEnv: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {}
  for (const name of engineEnvNames) {
    const value = serverEnv[name]
    if (value !== undefined) env[name] = value
  }
  return env
}

/** The default container user: the gateway's own uid:gid, or 1000:1000 when the gateway runs as root. */
export function defaultContainerUser(): string {
  const uid = process.getuid?.() ?? 1000
  const gid = process.getgid?.() ?? 1000
  return uid === 0 ? '1000:1000' : `${uid}:${gid}`
}
