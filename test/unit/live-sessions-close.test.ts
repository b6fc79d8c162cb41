import { afterEach, describe, expect, it } from 'vitest'
import type { AgentSession } from '../../src/agents/session.js'
import { loadConfig } from '../../src/config/load.js'
import { LiveSessions } from '../../src/core/live-sessions.js'
import type { Session } from '../../src/protocol/sessions.js'
import type { Store } from '../../src/store/store.js'
import { removeDir, tempDir } from '../support/temp.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d)
})

/**
 * LiveSessions with a driver whose resume waits until the test lets it land: a session reopened (or created)
 * while the gateway's stop closes every session must not leave its agent open to nobody.
 */
function setup({ stopping = true } = {}) {
  const dir = tempDir()
  dirs.push(dir)
  const config = loadConfig({}, dir)
  const closed: string[] = []
  const agentOf = (id: string) =>
    ({
      agentSessionId: id,
      close: async () => void closed.push(id),
    }) as unknown as AgentSession
  let land!: () => void
  const landed = new Promise<void>((resolve) => (land = resolve))
  let resumes = 0
  let resumed!: () => void
  const resuming = new Promise<void>((resolve) => (resumed = resolve))
  const driver = {
    id: 'fake',
    probe: async () => ({ installed: true, authenticated: true }),
    openSession: async () => agentOf('opened'),
    resumeSession: async (id: string) => {
      resumes++
      resumed()
      await landed
      return agentOf(id)
    },
  }
  const live = new LiveSessions({
    store: {
      claimSession: async () => 2,
      ownerOf: async () => 'node-1',
    } as unknown as Store,
    registry: { get: () => driver } as never,
    config,
    node: 'node-1',
    hooks: () => ({}) as never,
    confine: () => {},
    // the stop stops accepting before it closes the sessions; a close while accepting is not a stop
    accepting: () => !stopping,
    stillOwns: async () => true,
    claimed: async () => {},
  })
  const session = (id: string) =>
    ({ id, agent: 'fake', agentSessionId: `thr-${id}`, status: 'idle', cwd: dir, turnCount: 1 }) as Session
  return { live, session, closed, land, resuming, resumes: () => resumes }
}

describe('LiveSessions.closeAll', () => {
  it('a session being reopened when the close begins is waited for and its agent closed; none opens after', async () => {
    const { live, session, closed, land, resuming, resumes } = setup()
    const reopening = live.ensure(session('ses_1'))
    const refused = reopening.catch((err: Error) => err.message)
    // the resume is under way (its driver call made) when the close begins
    await resuming
    let closeEnded = false
    const closing = live.closeAll().then(() => {
      closeEnded = true
    })
    await new Promise((resolve) => setImmediate(resolve))
    expect(closeEnded).toBe(false)
    land()
    await closing
    expect(closed).toEqual(['thr-ses_1'])
    expect(live.has('ses_1')).toBe(false)
    expect(await refused).toMatch(/shutting down/)
    await expect(live.ensure(session('ses_2'))).rejects.toThrow(/shutting down/)
    expect(resumes()).toBe(1)
  })

  it('a creation under way when the close begins is waited for; a creation after it is refused', async () => {
    const { live, closed } = setup()
    let open!: () => void
    const opened = new Promise<void>((resolve) => (open = resolve))
    const creating = live.creation(async () => {
      await opened
      live.add(
        'ses_new',
        { agentSessionId: 'new', close: async () => void closed.push('new') } as never,
        { cwd: '/', approvalPolicy: null },
        false,
      )
    })
    const closing = live.closeAll()
    open()
    await Promise.all([creating, closing])
    expect(closed).toEqual(['new'])
    expect(() => live.creation(async () => {})).toThrow(/shutting down/)
  })

  it('a close while the gateway still accepts (not its stop): the next use reopens the session', async () => {
    const { live, session, closed, land, resumes } = setup({ stopping: false })
    land()
    await live.ensure(session('ses_1'))
    await live.closeAll()
    expect(closed).toEqual(['thr-ses_1'])
    expect(live.has('ses_1')).toBe(false)
    await live.ensure(session('ses_1'))
    expect(live.has('ses_1')).toBe(true)
    expect(resumes()).toBe(2)
  })
})
