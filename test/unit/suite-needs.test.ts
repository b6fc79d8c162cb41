import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { allNeeds, reachableModules, suiteNeeds } from '../support/suite-needs.js'

const project = path.resolve(import.meta.dirname, '../..')
const files = (...names: string[]) => names.map((n) => path.join(project, n))

describe('suiteNeeds: what a run’s files need of global setup', () => {
  it('needs neither the test image nor the PostgreSQL template for unit files that reach neither', () => {
    expect(suiteNeeds(files('test/unit/longest-first.test.ts', 'test/unit/sse-encode.test.ts'))).toEqual({
      containers: false,
      postgres: false,
    })
  })

  it('needs the image for a file that imports the container helpers, directly or through another helper', () => {
    // docker-mode imports container-image.ts; container-agents only container-gateway.ts, which imports it
    expect(suiteNeeds(files('test/integration/docker-mode.test.ts')).containers).toBe(true)
    const reached = reachableModules(files('test/integration/container-agents.test.ts'))
    expect(reached).toContain(path.join(project, 'test/support/container-gateway.ts'))
    expect(suiteNeeds(files('test/integration/container-agents.test.ts'))).toEqual({
      containers: true,
      postgres: false,
    })
  })

  it('needs the template for a file that reaches test/support/postgres.ts (here through shared-postgres.ts)', () => {
    expect(suiteNeeds(files('test/integration/postgres-store.test.ts'))).toEqual({
      containers: false,
      postgres: true,
    })
  })

  it('needs everything when the run’s files are not known', () => {
    expect(suiteNeeds(undefined)).toEqual(allNeeds)
  })
})
