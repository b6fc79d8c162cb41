import { chmodSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ContainerProcessRunner } from '../../src/process/container/container-runner.js'
import { tempDir } from '../support/temp.js'

/**
 * An engine CLI stand-in (a real script, run as the runner runs its engine): `version` answers 1.2.3 once a file
 * `up` exists beside it, else fails as an engine that does not answer would.
 */
function engineThatComesUp() {
  const dir = tempDir('engine-')
  const engine = path.join(dir, 'engine')
  writeFileSync(engine, `#!/bin/sh\n[ -e "${dir}/up" ] && echo 1.2.3 && exit 0\nexit 1\n`)
  chmodSync(engine, 0o755)
  const runner = new ContainerProcessRunner({
    engine,
    network: 'none',
    pidsLimit: 256,
    user: '1000:1000',
    tmpfsSize: '64m',
    instance: 'describe-test',
    engineEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  })
  return { runner, comeUp: () => writeFileSync(path.join(dir, 'up'), '') }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('ContainerProcessRunner.describe (what /health reports of the engine)', () => {
  it('an engine that did not answer is asked again 5 s later, not a minute later', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { runner, comeUp } = engineThatComesUp()
    expect((await runner.describe()).available).toBe(false)
    comeUp()
    // within 5 s: the answer is the one it had
    vi.setSystemTime(Date.now() + 4_000)
    expect((await runner.describe()).available).toBe(false)
    vi.setSystemTime(Date.now() + 2_000)
    expect(await runner.describe()).toMatchObject({ available: true, version: '1.2.3' })
  })

  it('an engine that answered is asked again only after a minute', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { runner, comeUp } = engineThatComesUp()
    comeUp()
    const first = runner.describe()
    expect(await first).toMatchObject({ available: true })
    vi.setSystemTime(Date.now() + 59_000)
    expect(runner.describe()).toBe(first)
    vi.setSystemTime(Date.now() + 2_000)
    expect(runner.describe()).not.toBe(first)
  })
})
