import { markerVariable } from '../../src/process/process-marker.js'
import { moduleUrl, startScriptGateway } from './script-gateway.js'

/**
 * A spawn host's pass run for a gateway that carries `marker` (as a gateway run by another gateway's run carries
 * that run's marker): a script gateway in `dir` starts its host and runs `pass` (the body of an async function
 * with `host` in scope; what it returns is `result`). Tells whether the pass signalled the gateway itself
 * (SIGTERM). The gateway is killed before this resolves.
 */
export async function hostPassFromGateway(
  dir: string,
  marker: string,
  pass: string,
): Promise<{ result: unknown; signalled: boolean }> {
  const gateway = startScriptGateway(
    dir,
    `import { SpawnHost } from ${moduleUrl('src/process/spawn-host.ts')}
let signalled = false
process.on('SIGTERM', () => { signalled = true })
setInterval(() => {}, 1000) // the host is unref'd: this keeps the script alive while it answers
const host = await SpawnHost.start()
const result = await (async () => { ${pass} })()
// a second round trip: a signal the first pass sent this process was handled by then
await host.signalMarked({})
console.log(JSON.stringify({ result: result ?? null, signalled }))`,
    { [markerVariable]: marker },
  )
  try {
    return JSON.parse(await gateway.firstLine)
  } finally {
    await gateway.kill()
  }
}
