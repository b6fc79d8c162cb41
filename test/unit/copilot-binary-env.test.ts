import path from 'node:path'
import { expect, it } from 'vitest'
import { resolveCopilotBinary } from '../../src/agents/copilot/binary.js'
import { copilotEnv } from '../../src/agents/copilot/env.js'
import { loadConfig } from '../../src/config/load.js'

it('finds copilot’s native binary, not the npm loader (its platform package exports only the binary)', () => {
  const binary = resolveCopilotBinary()
  expect(binary).toMatch(new RegExp(`@github/copilot-${process.platform}-${process.arch}/copilot$`))
  expect(resolveCopilotBinary('/nonexistent/copilot')).toBeNull()
  expect(resolveCopilotBinary(binary ?? '')).toBe(path.resolve(binary ?? ''))
})

it('in a container copilot gets no host cache or XDG paths, only COPILOT_HOME (which is mounted)', () => {
  const serverEnv = {
    PATH: '/usr/bin',
    COPILOT_HOME: '/srv/copilot-home',
    COPILOT_PKG_CACHE_HOME: '/host/cache/copilot',
    XDG_CACHE_HOME: '/host/cache',
  }
  const config = loadConfig(
    { ...serverEnv, COPILOT_PROVIDER_BASE_URL: 'http://127.0.0.1:9/v1', COPILOT_MODEL: 'm' },
    '/tmp/agw-copilot-env',
  )
  const local = copilotEnv(config, serverEnv)
  expect(local).toMatchObject({
    COPILOT_HOME: '/srv/copilot-home',
    COPILOT_PKG_CACHE_HOME: '/host/cache/copilot',
    XDG_CACHE_HOME: '/host/cache',
    COPILOT_OFFLINE: 'true',
  })
  const inContainer = copilotEnv(config, serverEnv, true)
  expect(inContainer.COPILOT_HOME).toBe('/srv/copilot-home')
  expect(inContainer).not.toHaveProperty('COPILOT_PKG_CACHE_HOME')
  expect(inContainer).not.toHaveProperty('XDG_CACHE_HOME')
  expect(inContainer).toMatchObject({
    COPILOT_PROVIDER_BASE_URL: 'http://127.0.0.1:9/v1',
    COPILOT_MODEL: 'm',
  })
})
