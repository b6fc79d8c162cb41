import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ContainerProcessRunner } from '../../src/process/container/container-runner.js'
import { tempDir } from '../support/temp.js'

afterEach(() => {
  vi.restoreAllMocks()
})

describe('ContainerProcessRunner.describe (what /health and /v1/agents report)', () => {
  it('an engine that did not answer is asked again seconds later, not after a minute; an answer is kept a minute', async () => {
    // an engine whose first `version` fails (as one that timed out on a loaded machine), and the next ones answer
    const engine = path.join(tempDir('engine-describe-'), 'engine')
    writeFileSync(
      engine,
      '#!/bin/sh\necho "$*" >> "$0.asked"\n[ "$(wc -l < "$0.asked")" -gt 1 ] || exit 125\necho 9.9.9\n',
      { mode: 0o755 },
    )
    const asked = () => readFileSync(`${engine}.asked`, 'utf8').trim().split('\n').length
    const runner = new ContainerProcessRunner({
      engine,
      network: 'none',
      pidsLimit: 64,
      user: '1000:1000',
      tmpfsSize: '64m',
      instance: 'describe-test',
      engineEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    })
    let now = Date.now()
    vi.spyOn(Date, 'now').mockImplementation(() => now)
    expect(await runner.describe()).toMatchObject({ kind: 'container', available: false, version: null })
    now += 4_000
    expect(await runner.describe()).toMatchObject({ available: false })
    expect(asked()).toBe(1)
    now += 2_000
    expect(await runner.describe()).toMatchObject({ available: true, version: '9.9.9' })
    now += 59_000
    expect(await runner.describe()).toMatchObject({ available: true, version: '9.9.9' })
    expect(asked()).toBe(2)
  })
})
