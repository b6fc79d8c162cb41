import { afterAll, beforeAll, expect } from 'vitest'
import { SpawnHost } from '../../src/process/spawn-host.js'

/**
 * For a suite run once with a pass in the spawn host and once on this thread ('here'): with 'host', a spawn host
 * started before its tests and stopped after them. The getter gives it (undefined with 'here').
 */
export function suiteSpawnHost(where: 'host' | 'here'): () => SpawnHost | undefined {
  let host: SpawnHost | undefined
  beforeAll(async () => {
    if (where === 'host') {
      host = await SpawnHost.start()
      expect(host).toBeDefined()
    }
  })
  afterAll(async () => {
    await host?.stop()
  })
  return () => host
}
