import { spawnSync } from 'node:child_process'
import { hostname } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { NodeMembership } from '../../src/core/node-membership.js'
import { FencingNotices, type NoticeLogger } from '../../src/core/ops/fencing-notices.js'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { NotAMember } from '../../src/store/store.js'
import { newRun, newSession } from '../contract/store-contract.js'
import { tempDir } from '../support/temp.js'

const stores: SqliteStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
})

function open() {
  const store = new SqliteStore(path.join(tempDir('nodes-'), 'gw.db'))
  stores.push(store)
  return store
}

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'])
  return Number(child.stdout.toString())
}

describe('NodeMembership', () => {
  it('only nodes that are gone are lost: a dead process here, silent ones, unknown ones', async () => {
    const store = open()
    const now = Date.now()
    const at = (msAgo: number) => new Date(now - msAgo).toISOString()
    const node = (id: string, host: string, pid: number, heartbeatAt: string) =>
      store.registerNode({ id, role: 'all', host, pid, startedAt: heartbeatAt, heartbeatAt })
    await node('node_deadproc', hostname(), deadPid(), at(0))
    await node('node_liveproc', hostname(), process.ppid, at(1000))
    await node('node_remote_fresh', 'elsewhere', 1, at(1000))
    await node('node_remote_silent', 'elsewhere', 1, at(60_000))
    // a node the store no longer knows: it took its work while registered
    await node('node_unknown', 'elsewhere', 1, at(0))
    for (const [i, owner] of [
      'node_deadproc',
      'node_liveproc',
      'node_remote_fresh',
      'node_remote_silent',
      'node_unknown',
    ].entries())
      await store.admitRun(newRun(`run_${i}`), owner, 100)
    await store.createSession(newSession('ses_1'), 'node_remote_fresh')
    await store.removeNode('node_unknown')

    const me = new NodeMembership(store, 'all', { heartbeatMs: 50, deadAfterMs: 10_000 })
    await me.join()
    const registered = async () => (await store.listNodes()).map((n) => n.id).sort()
    let duringTakeOver: string[] = []
    const claims: Record<string, string> = {}
    const lost = await me.recoverLost(async () => {
      duringTakeOver = await registered()
      // marked lost before the takeover: the dead claim nothing from now on, the live still do
      for (const id of ['node_deadproc', 'node_remote_silent', 'node_remote_fresh'])
        claims[id] = await store.claimNextRun(id).then(
          (run) => run?.id ?? 'none',
          (err: unknown) => (err instanceof NotAMember ? 'refused' : String(err)),
        )
    }, now)
    expect(claims).toEqual({
      node_deadproc: 'refused',
      node_remote_silent: 'refused',
      node_remote_fresh: 'run_2',
    })
    expect(lost.sort()).toEqual(['node_deadproc', 'node_remote_silent', 'node_unknown'])
    // The dead ones are forgotten only after their work was taken over (a dead node that wakes then finds
    // nothing it held still its own); the live ones and this node stay registered.
    expect(duringTakeOver).toEqual(
      ['node_deadproc', 'node_liveproc', 'node_remote_fresh', 'node_remote_silent', me.id].sort(),
    )
    expect((await store.listNodes()).map((n) => n.id).sort()).toEqual(
      ['node_liveproc', 'node_remote_fresh', me.id].sort(),
    )
    await me.leave()
    expect((await store.listNodes()).map((n) => n.id)).not.toContain(me.id)
  })

  it('heartbeats keep the record fresh, and re-register a node someone removed', async () => {
    const store = open()
    const me = new NodeMembership(store, 'worker', { heartbeatMs: 20, deadAfterMs: 10_000 })
    await me.join()
    const first = (await store.listNodes())[0]!
    await store.removeNode(me.id)
    const deadline = Date.now() + 5000
    while (!(await store.listNodes()).some((n) => n.id === me.id && n.heartbeatAt > first.heartbeatAt)) {
      if (Date.now() > deadline) throw new Error('no heartbeat re-registered the node')
      await new Promise((r) => setTimeout(r, 10))
    }
    expect((await store.listNodes()).find((n) => n.id === me.id)).toMatchObject({ role: 'worker' })
    await me.leave()
  })

  it('a node whose record was removed (taken for dead) fences first: it registers again only after', async () => {
    const store = open()
    const me = new NodeMembership(store, 'worker', { heartbeatMs: 20, deadAfterMs: 10_000 })
    let release!: () => void
    const fenced = new Promise<boolean>((resolve) =>
      me.onFenced(async () => {
        resolve((await store.listNodes()).some((n) => n.id === me.id))
        await new Promise<void>((r) => {
          release = r
        })
      }),
    )
    await me.join()
    expect(me.joins).toBe(1)
    await store.admitRun(newRun('run_mine'), me.id, 10)
    await store.removeNode(me.id)
    // While fencing it is not registered, takes no work, and does not count itself among the lost.
    expect(await fenced).toBe(false)
    expect(me.isFencing).toBe(true)
    await expect(store.claimRun('run_mine', me.id)).rejects.toBeInstanceOf(NotAMember)
    expect(await me.recoverLost(async () => {})).toEqual([])
    expect(me.joins).toBe(1)
    release()
    const deadline = Date.now() + 5000
    while (me.joins < 2) {
      if (Date.now() > deadline) throw new Error('the node did not register again after fencing')
      await new Promise((r) => setTimeout(r, 10))
    }
    // registered again: its next claims are its own again (a run worker fetches again: run-worker.ts)
    expect((await store.listNodes()).some((n) => n.id === me.id)).toBe(true)
    expect(me.joins).toBe(2)
    await me.leave()
  })

  it('a heartbeat in flight when the node leaves does not register it again', async () => {
    /** A store whose next heartbeat waits until the test releases it. */
    class HeldHeartbeat extends SqliteStore {
      hold: Promise<void> | undefined
      asked: (() => void) | undefined
      registered = 0
      override async heartbeat(id: string, at: string): Promise<boolean> {
        const hold = this.hold
        if (hold) {
          this.hold = undefined
          this.asked?.()
          await hold
        }
        return super.heartbeat(id, at)
      }
      override async registerNode(...args: Parameters<SqliteStore['registerNode']>): Promise<void> {
        this.registered++
        return super.registerNode(...args)
      }
    }
    const store = new HeldHeartbeat(path.join(tempDir('nodes-'), 'gw.db'))
    stores.push(store)
    let release!: () => void
    store.hold = new Promise<void>((r) => (release = r))
    const asked = new Promise<void>((r) => (store.asked = r))
    const me = new NodeMembership(store, 'all', { heartbeatMs: 10, deadAfterMs: 10_000 })
    await me.join()
    await asked
    const leaving = me.leave()
    // leave() goes as far as it can while the heartbeat is held, then the heartbeat answers
    await new Promise((r) => setImmediate(r))
    release()
    await leaving
    await new Promise((r) => setImmediate(r))
    expect((await store.listNodes()).map((n) => n.id)).not.toContain(me.id)
    expect(store.registered).toBe(1)
  })

  it('tells its notices the nodes it took for lost, a takeover that failed, and its own fence (with a log line each)', async () => {
    const store = open()
    const lines: { level: string; msg: string; obj: Record<string, unknown> }[] = []
    const logger: NoticeLogger = {
      warn: (obj, msg) => void lines.push({ level: 'warn', msg, obj }),
      error: (obj, msg) => void lines.push({ level: 'error', msg, obj }),
    }
    const notices = new FencingNotices()
    notices.attach(logger)
    const old = new Date(Date.now() - 60_000).toISOString()
    await store.registerNode({
      id: 'node_silent',
      role: 'all',
      host: 'elsewhere',
      pid: 1,
      startedAt: old,
      heartbeatAt: old,
    })
    await store.createSession(newSession('ses_1'), 'node_silent')
    const me = new NodeMembership(store, 'all', { heartbeatMs: 10, deadAfterMs: 10_000 }, notices)
    await me.join()
    // the first takeover fails: counted, logged, and the node stays marked lost for the next check
    await expect(
      me.recoverLost(async () => {
        throw new Error('store went away')
      }),
    ).rejects.toThrow('store went away')
    expect(notices).toMatchObject({ nodesLost: 1, takeoversFailed: 1, fenced: false })
    expect(await me.recoverLost(async (lost) => void (await store.takeOverSessions(lost, me.id)))).toEqual([
      'node_silent',
    ])
    // the same loss, retried: counted once
    expect(notices).toMatchObject({ nodesLost: 1, takeoversFailed: 1 })
    // another node takes this one for dead: at its next heartbeat it finds out, and fences
    let fenced!: () => void
    const fencedNow = new Promise<void>((r) => (fenced = r))
    me.onFenced(async () => fenced())
    await store.removeNode(me.id)
    await fencedNow
    expect(notices.fenced).toBe(true)
    await me.leave()
    expect(lines.map((l) => [l.level, l.msg.split(':')[0]])).toEqual([
      ['warn', 'nodes taken for lost'],
      ['error', 'taking over lost nodes failed; the next check tries again'],
      ['error', 'this node was taken for dead (paused past NODE_TIMEOUT_SECONDS)'],
    ])
    expect(lines[2]!.obj).toMatchObject({ node: me.id })
  })
})

describe('NodeMembership.recoverLost while a node registers', () => {
  it('a node that registers and claims work between the listing of nodes and that of owners is not taken for lost', async () => {
    const store = open()
    // node_new registers (it just started, or registered again after its fence) and takes a run, right after
    // this node listed the nodes
    let listings = 0
    const racing = new Proxy(store, {
      get(target, prop) {
        if (prop !== 'listNodes') return Reflect.get(target, prop)
        return async () => {
          const nodes = await target.listNodes()
          if (listings++ === 0) {
            const at = new Date().toISOString()
            await target.registerNode({
              id: 'node_new',
              role: 'all',
              host: 'elsewhere',
              pid: 1,
              startedAt: at,
              heartbeatAt: at,
            })
            await target.admitRun(newRun('run_new'), 'node_new', 100)
          }
          return nodes
        }
      },
    })
    const me = new NodeMembership(racing, 'all', { heartbeatMs: 60_000, deadAfterMs: 10_000 })
    await me.join()
    let tookOver: string[] | undefined
    const lost = await me.recoverLost(async (taken) => {
      tookOver = taken
    })
    expect(lost).toEqual([])
    expect(tookOver).toBeUndefined()
    expect((await store.listNodes()).map((n) => n.id)).toContain('node_new')
    await me.leave()
  })

  it('tells its notices (a log line) when it takes over work of a node the store does not know', async () => {
    const store = open()
    const lines: string[] = []
    const notices = new FencingNotices()
    notices.attach({ warn: (_, msg) => void lines.push(msg), error: (_, msg) => void lines.push(msg) })
    const at = new Date().toISOString()
    await store.registerNode({
      id: 'node_gone',
      role: 'all',
      host: 'elsewhere',
      pid: 1,
      startedAt: at,
      heartbeatAt: at,
    })
    await store.admitRun(newRun('run_gone'), 'node_gone', 100)
    await store.removeNode('node_gone')
    const me = new NodeMembership(store, 'all', { heartbeatMs: 60_000, deadAfterMs: 10_000 }, notices)
    await me.join()
    expect(await me.recoverLost(async () => {})).toEqual(['node_gone'])
    expect(lines.map((l) => l.split(':')[0])).toEqual(['work of nodes the store does not know is taken over'])
    await me.leave()
  })
})

describe('NodeMembership.placeableRunnerIds', () => {
  it('skips runners it has reason to think dying (a missed heartbeat, a call left unanswered) until they beat again; all of them when none is sound', async () => {
    const store = open()
    const now = Date.now()
    const register = (id: string, msAgo: number, role = 'worker') =>
      store.registerNode({
        id,
        role,
        host: 'elsewhere',
        pid: 1,
        startedAt: new Date(now - 60_000).toISOString(),
        heartbeatAt: new Date(now - msAgo).toISOString(),
      })
    await register('node_fresh', 100)
    await register('node_missed', 4500)
    await register('node_api', 100, 'api')
    const me = new NodeMembership(store, 'api', { heartbeatMs: 2000, deadAfterMs: 10_000 })
    await me.join()
    // (isLiveConfirmed lists the nodes anew, one sent after the call, which placement then shares: a clock tick
    // after the last one, so that it cannot be that one)
    const fresh = async () => {
      const after = Date.now()
      while (Date.now() === after) await new Promise((r) => setImmediate(r))
      await me.isLiveConfirmed('node_fresh')
      return (await me.placeableRunnerIds()).sort()
    }
    // both are live (neither is dead before 10 s), only the one that did not miss a heartbeat is placeable
    expect((await me.liveRunnerIds(now)).sort()).toEqual(['node_fresh', 'node_missed'])
    expect(await fresh()).toEqual(['node_fresh'])
    // node_fresh left a call unanswered: now no runner is sound, so both are placeable (better a slow one than none)
    me.noteUnanswered('node_fresh')
    expect(await fresh()).toEqual(['node_fresh', 'node_missed'])
    // its next heartbeat lifts the suspicion; so does node_missed's
    await store.heartbeat('node_fresh', new Date().toISOString())
    expect(await fresh()).toEqual(['node_fresh'])
    await store.heartbeat('node_missed', new Date().toISOString())
    expect(await fresh()).toEqual(['node_fresh', 'node_missed'])
    await me.leave()
  })
})
