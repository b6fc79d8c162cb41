import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { CliVersionCache, readCliVersion } from '../../src/agents/cli-version.js'
import { modelKeyPlaceholder, modelUrlPlaceholder } from '../../src/process/key-proxy/model-access.js'
import { localRunner } from '../../src/process/local-runner.js'
import type { LaunchSpec, ProcessRunner } from '../../src/process/runner.js'
import { tempDir } from '../support/temp.js'

describe('CliVersionCache', () => {
  it('reads once when it worked', async () => {
    let reads = 0
    const cache = new CliVersionCache(async () => `1.0.${++reads}`)
    expect(await cache.get()).toBe('1.0.1')
    expect(await cache.get()).toBe('1.0.1')
    expect(reads).toBe(1)
  })

  it('reads again after a failure once the retry time passed, and keeps the success', async () => {
    const answers = [null, '2.0.0']
    let reads = 0
    const cache = new CliVersionCache(async () => answers[reads++] ?? null, 0)
    expect(await cache.get()).toBeNull()
    expect(await cache.get()).toBe('2.0.0')
    expect(await cache.get()).toBe('2.0.0')
    expect(reads).toBe(2)
  })

  it('within the retry time a failure is not read again', async () => {
    let reads = 0
    const cache = new CliVersionCache(async () => {
      reads++
      return null
    }, 60_000)
    await cache.get()
    await cache.get()
    expect(reads).toBe(1)
  })
})

describe('readCliVersion', () => {
  it('asks without the variables that name a model key or URL (no key is lent for a version)', async () => {
    const dir = tempDir('cli-version-')
    const binary = path.join(dir, 'tool')
    writeFileSync(binary, '#!/bin/sh\necho "tool $TOOL_FLAVOUR 1.2.3"\nenv > "$0.env"\n', {
      mode: 0o755,
    })
    const launched: LaunchSpec[] = []
    const recording: ProcessRunner = {
      ...localRunner,
      start: (spec) => {
        launched.push(spec)
        return localRunner.start(spec)
      },
    }
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      TOOL_FLAVOUR: 'kept',
      OPENAI_API_KEY: modelKeyPlaceholder('openai'),
      OPENAI_BASE_URL: `${modelUrlPlaceholder('openai')}/v1`,
    }
    expect(await readCliVersion(recording, binary, env)).toBe('1.2.3')
    expect(launched).toHaveLength(1)
    const seen = readFileSync(`${binary}.env`, 'utf8')
    expect(seen).toContain('TOOL_FLAVOUR=kept')
    expect(seen).not.toContain('OPENAI_API_KEY')
    expect(seen).not.toContain('OPENAI_BASE_URL')
    expect(JSON.stringify(launched[0]?.env)).not.toMatch(/\{\{model-/)
  })
})
