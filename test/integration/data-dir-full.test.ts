import { execFileSync, spawnSync } from 'node:child_process'
import { statSync, truncateSync, unlinkSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Run } from '../../src/protocol/runs.js'
import type { Session } from '../../src/protocol/sessions.js'
import { postJson, readNdjson, startGateway, type TestGateway } from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'
import { stubbornSettings } from '../support/stubborn-agent.js'
import { removeDir, tempDir } from '../support/temp.js'

const root = process.getuid?.() === 0

/**
 * DATA_DIR on a disk that fills up (a tmpfs of its own; mounting one needs root, as CI runs): a run whose output
 * no longer fits fails saying why, its agent stopped; /health answers 503 while nothing more fits; once space is
 * back, without a restart, the run's end is recorded (its followers get it, no seq missing), /health is 200 and
 * runs work again. Before, the store's SQLITE_FULL on the run's end was an unhandled rejection that ended the
 * gateway, and /health said healthy on a full disk.
 */
describe.skipIf(!root)('DATA_DIR on a full disk (a tmpfs; needs root to mount)', () => {
  let mount: string
  let gw: TestGateway

  beforeAll(async () => {
    mount = tempDir('data-dir-full-')
    // 2 MB: the store's files take a few hundred KB at the start, the run below writes more than the rest
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mount])
    gw = await startGateway(null, { DATA_DIR: mount, CLI_LIST: 'sh', ...stubbornSettings() })
  })
  afterAll(async () => {
    await gw?.close()
    if (mount) {
      try {
        execFileSync('umount', [mount])
      } finally {
        removeDir(mount)
      }
    }
  })

  const health = async () => {
    const res = await fetch(`${gw.url}/health`)
    return { status: res.status, body: (await res.json()) as { store: { dataDirWritable: boolean } } }
  }

  it('a run that fills it fails saying why; once space is back its end is recorded, without a restart', async () => {
    expect((await health()).status).toBe(200)
    const endFailed = new Promise<void>((resolve) => {
      const notices = gw.ctx.storeNotices
      const told = notices.endFailed.bind(notices)
      notices.endFailed = (...args) => {
        told(...args)
        resolve()
      }
    })
    // about 3.7 MB of output, then the agent would wait: the store's refusal must stop it
    const res = await postJson(`${gw.url}/v1/runs`, {
      agent: 'cli',
      command: {
        cli: 'sh',
        args: ['-c', 'yes 0123456789abcdefghijklmnopqrstuvwxyz | head -n 100000; exec sleep 60'],
      },
    })
    expect(res.status).toBe(202)
    const { id } = (await res.json()) as Run
    // its events refused, the run's end may still fit in what the store's files hold, or fail and be retried
    await Promise.race([endFailed, gw.ctx.runs.wait(id)])
    expect(await health()).toMatchObject({ status: 503, body: { store: { dataDirWritable: false } } })
    // space back, as an operator gives it (a bigger volume, files removed)
    execFileSync('mount', ['-o', 'remount,size=16m', mount])

    const events = (await readNdjson(
      await fetch(`${gw.url}/v1/runs/${id}/events`, { headers: { accept: 'application/x-ndjson' } }),
    )) as unknown as StoredEvent[]
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
    expect(events.at(-1)).toMatchObject({
      type: 'run.completed',
      status: 'failed',
      error: expect.stringContaining('storing its events failed: database or disk is full'),
    })
    expect(await (await fetch(`${gw.url}/v1/runs/${id}`)).json()).toMatchObject({ status: 'failed' })
    // its agent (the `sleep` it went on with) was stopped
    expect(await waitUntilGone(() => processesUnder(gw.workspace), 5000)).toEqual([])
    expect((await health()).status).toBe(200)
    const next = await postJson(`${gw.url}/v1/runs?wait=true`, {
      agent: 'cli',
      command: { cli: 'sh', args: ['-c', 'echo fine'] },
    })
    expect(await next.json()).toMatchObject({ status: 'succeeded', exitCode: 0 })
  })
  it('a session whose creation it refuses is 503 storage_full and left nowhere: not listed, its agent closed', async () => {
    const sessions = async () =>
      ((await (await fetch(`${gw.url}/v1/sessions`)).json()) as { sessions: Session[] }).sessions
    expect(await sessions()).toEqual([])
    // the disk full to the last byte (dd ends at ENOSPC), then given back a page (4 KB) at a time, each followed by
    // a creation: the first that fits finds room for part of its writes at most (before, the session's row, alone,
    // and not its first event: a session stored, listed, its agent left open, answered 503)
    const filler = path.join(mount, 'filler')
    spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'])
    let size = statSync(filler).size
    let refusals = 0
    for (;;) {
      const res = await postJson(`${gw.url}/v1/sessions`, { agent: 'acp:stubborn' })
      const body = (await res.json()) as Session & { error?: { code: string } }
      if (res.status === 201) {
        expect((await sessions()).map((s) => s.id)).toEqual([body.id])
        break
      }
      expect({ status: res.status, body }).toMatchObject({
        status: 503,
        body: { error: { code: 'storage_full' } },
      })
      refusals++
      // nothing of it stored, and its agent (opened before the store refused the session) closed
      expect(await sessions()).toEqual([])
      expect(await waitUntilGone(() => processesUnder(gw.workspace), 5000)).toEqual([])
      expect(size).toBeGreaterThan(0)
      size = Math.max(0, size - 4096)
      truncateSync(filler, size)
    }
    expect(refusals).toBeGreaterThan(0)
    unlinkSync(filler)
  })
})
