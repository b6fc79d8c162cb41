import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'
import { Redactor } from '../../src/process/secrets.js'
import { InProcessEventBus } from '../../src/store/event-bus.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { newRun } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

const secret = 'sk-relay-secret-0123456789'

/** Counts the walks over events (each one reads every string of the event). */
class CountingRedactor extends Redactor {
  walks = 0
  override value<T>(input: T): T {
    this.walks++
    return super.value(input)
  }
}
const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

async function setup() {
  const store = new SqliteStore(path.join(tempDir('redaction-'), 'gw.db'))
  stores.push(store)
  await store.createRun(newRun('run_a'))
  const redactor = new CountingRedactor([secret])
  return { store, redactor, log: new EventLog(store, new InProcessEventBus(), redactor) }
}

const output = (data: string) => ({ type: 'output' as const, stream: 'stdout' as const, data })

describe('EventLog redaction', () => {
  it('an event appended as the agent wrote it is stored and published redacted', async () => {
    const { store, redactor, log } = await setup()
    const stored = await log.append('run_a', output(`key=${secret}\n`))
    expect(stored).toMatchObject({ data: 'key=[REDACTED]\n' })
    expect(redactor.walks).toBe(1)
    expect((await store.eventsAfter('run_a', 0, 10)).map((e) => e.type === 'output' && e.data)).toEqual([
      'key=[REDACTED]\n',
    ])
  })

  it('an event the run redacted already is not walked again, and stored the same', async () => {
    const { store, redactor, log } = await setup()
    const clean = log.redact(output(`a ${secret} b`))
    expect(clean.data).toBe('a [REDACTED] b')
    const plain = output('nothing secret')
    expect(log.redact(plain)).toBe(plain)
    expect(redactor.walks).toBe(2)
    expect(log.redact(clean)).toBe(clean)
    await log.append('run_a', clean)
    await log.append('run_a', plain)
    expect(redactor.walks).toBe(2)
    expect((await store.eventsAfter('run_a', 0, 10)).map((e) => e.type === 'output' && e.data)).toEqual([
      'a [REDACTED] b',
      'nothing secret',
    ])
  })
})
