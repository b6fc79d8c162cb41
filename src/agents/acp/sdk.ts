type AcpSdk = typeof import('@agentclientprotocol/sdk')

let sdk: AcpSdk | undefined
let loading: Promise<AcpSdk> | undefined

/**
 * The ACP SDK, loaded on the first ACP run or session rather than with the server: its generated zod schemas
 * and client take about 3 MB of heap that an idle gateway (or one that never runs an ACP agent) does not need
 * (docs/benchmarks.md, "Target 7, third round"). Every path that starts an agent process awaits this first.
 */
export function loadAcpSdk(): Promise<AcpSdk> {
  if (sdk) return Promise.resolve(sdk)
  loading ??= import('@agentclientprotocol/sdk').then(
    (loaded) => {
      sdk = loaded
      return loaded
    },
    (err: unknown) => {
      loading = undefined
      throw err
    },
  )
  return loading
}

/** The SDK once loadAcpSdk() has resolved (synchronous, for the connection's constructor and handlers). */
export function acpSdk(): AcpSdk {
  if (!sdk)
    throw new Error('the ACP SDK is not loaded yet: await loadAcpSdk() before starting an ACP process')
  return sdk
}

/** Whether the SDK is loaded (so a caller can stay synchronous once it is). */
export function acpSdkLoaded(): boolean {
  return sdk !== undefined
}
