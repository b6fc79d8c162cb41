import { describe, expect, it } from 'vitest'
import { acpPreset } from '../../src/agents/acp/agent-spec.js'
import { acpLaunch } from '../../src/agents/acp/launch.js'
import { runsProfiles } from '../../src/agents/codex-app-server/app-server-launch.js'
import { TurnDirectories } from '../../src/agents/turn-directories.js'
import { loadConfig } from '../../src/config/load.js'
import type { EscapeScope } from '../../src/process/escaped-processes.js'
import { tempDir } from '../support/temp.js'

/**
 * Which turn ends sweep what escaped a long-lived agent (the sweep itself on the real /proc: stranded-launcher.test.ts,
 * escaped-processes.test.ts; a stranded launcher in a real codex turn without a command: confinement.test.ts).
 */
describe('TurnDirectories: the sweeps a turn end asks for', () => {
  const sweeps = (startsHelpers?: boolean) => {
    const asked: (EscapeScope | undefined)[] = []
    const dirs = new TurnDirectories((scope) => {
      asked.push(scope())
      return Promise.resolve()
    }, startsHelpers)
    return { asked, dirs }
  }

  it('a turn that ran a command (or did not complete) sweeps its own scope; a plain one nothing', () => {
    const { asked, dirs } = sweeps()
    const other = dirs.began('/w/b')
    dirs.began('/w/a')(true)
    dirs.began('/w/c')(false)
    other(false)
    expect(asked).toEqual([{ within: ['/w/a'], except: ['/w/b'] }])
  })

  it('on an agent that starts sandboxed helpers, a plain turn sweeps the stranded launchers alone', () => {
    const { asked, dirs } = sweeps(true)
    dirs.began('/w/a', () => 'thread-1')(false)
    dirs.began('/w/a', () => 'thread-1')(true)
    // a scope of no directory and no owner: only a launcher stranded before its command (proc-scan-source.ts)
    expect(asked).toEqual([
      { within: [], except: [] },
      { within: ['/w/a'], except: [], owner: 'thread-1' },
    ])
  })

  // codex's app-server starts its file-system helper for a thread under a profile only (an `untrusted` one, or
  // any with CODEX_CONFINE_READS): a turn says whether its thread runs one (app-server-host.ts turnBegan)
  it('a turn whose thread starts helpers sweeps the launchers alone; another plain turn of the same agent nothing', () => {
    const { asked, dirs } = sweeps()
    dirs.began(
      '/w/a',
      () => 'thread-1',
      () => false,
    )(false)
    dirs.began(
      '/w/b',
      () => 'thread-2',
      () => true,
    )(false)
    expect(asked).toEqual([{ within: [], except: [] }])
  })

  it("a turn's end that sweeps is over once its sweep is; a plain one's at once", async () => {
    const order: string[] = []
    let release = () => {}
    const dirs = new TurnDirectories(
      () =>
        new Promise<void>((resolve) => {
          release = () => {
            order.push('swept')
            resolve()
          }
        }),
    )
    await dirs.began('/w/a')(false)
    order.push('plain ended')
    const ended = dirs
      .began('/w/a')(true)
      .then(() => order.push('ended'))
    release()
    await ended
    expect(order).toEqual(['plain ended', 'swept', 'ended'])
  })

  it("a thread let go of sweeps its directory for what names no thread, not a live turn's directory", () => {
    const { asked, dirs } = sweeps()
    dirs.began('/w/b', () => 'thread-2')
    void dirs.threadEnded('/w/a')
    void dirs.threadEnded('/w')
    expect(asked).toEqual([
      { within: ['/w/a'], except: ['/w/b'] },
      { within: ['/w'], except: ['/w/b'] },
    ])
  })

  it("the agents that start them: codex's app-server under a profile, codex-acp under a read-confining one", () => {
    const dir = tempDir('turn-dirs-')
    const env = { WORKSPACE_DIR: `${dir}/w`, DATA_DIR: `${dir}/data`, HOME: `${dir}/home` }
    const confined = loadConfig({ ...env, CODEX_CONFINE_READS: 'true' }, dir)
    const open = loadConfig(env, dir)
    const dangerous = loadConfig({ ...env, ALLOW_DANGER_FULL_ACCESS: 'true' }, dir)
    expect(runsProfiles({ config: confined })).toBe(true)
    expect(runsProfiles({ config: confined, placement: { isolation: 'container' } })).toBe(false)
    // by default the profile that reads all, with its denied read (read-profiles.ts sessionProfiles)
    expect(runsProfiles({ config: open })).toBe(true)
    expect(runsProfiles({ config: open, placement: { isolation: 'container' } })).toBe(false)
    expect(runsProfiles({ config: dangerous })).toBe(false)
    const codexAcp = { ...acpPreset('codex-acp'), command: '/bin/true' }
    const helpers = (config: typeof open, sandbox: 'read-only' | 'danger-full-access') =>
      acpLaunch(codexAcp, config, {}, { cwd: dir, sandbox }).startsHelpers ?? false
    expect(helpers(confined, 'read-only')).toBe(true)
    expect(helpers(confined, 'danger-full-access')).toBe(false)
    expect(helpers(open, 'read-only')).toBe(false)
  })
})
