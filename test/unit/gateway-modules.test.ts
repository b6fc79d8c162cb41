import { describe, expect, it } from 'vitest'
import { startGateway } from '../support/gateway.js'

describe('startGateway in a file without gatewayModules()', () => {
  it('refuses, naming the file and the fix, before it starts or loads anything', async () => {
    await expect(startGateway(null)).rejects.toThrow(
      /test\/unit\/gateway-modules\.test\.ts starts a gateway in its process without gatewayModules\(\)/,
    )
  })
})
