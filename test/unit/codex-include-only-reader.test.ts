import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { configFilesSignature } from '../../src/agents/codex-app-server/config-files.js'
import { IncludeOnlyReader } from '../../src/agents/codex-app-server/include-only-reader.js'
import { tempDir } from '../support/temp.js'

const markers = ['AGENT_GATEWAY_APP_SERVER', 'AGENT_GATEWAY_THREAD', 'AGENT_GATEWAY_SERVER']

/** A codex home and a workspace, and a config/read that answers what `answers` says for a cwd now. */
function setup() {
  const home = tempDir('ior-home-')
  const ws = tempDir('ior-ws-')
  writeFileSync(path.join(home, 'config.toml'), '')
  const answers = new Map<string, string[] | null>()
  const asked: string[] = []
  const read = async (cwd: string) => {
    asked.push(cwd)
    const includeOnly = answers.get(cwd)
    if (includeOnly === undefined) throw new Error(`no answer for ${cwd}`)
    return { config: { shell_environment_policy: { include_only: includeOnly } } }
  }
  return { home, ws, answers, asked, reader: new IncludeOnlyReader(read, home) }
}

function writeProjectConfig(dir: string, text: string) {
  mkdirSync(path.join(dir, '.codex'), { recursive: true })
  writeFileSync(path.join(dir, '.codex', 'config.toml'), text)
}

describe('IncludeOnlyReader', () => {
  it("adds the markers' names to a non-empty include_only, nothing to an empty one", async () => {
    const { ws, answers, reader } = setup()
    const other = tempDir('ior-other-')
    answers.set(ws, ['PATH'])
    answers.set(other, null)
    expect(await reader.keepingMarkers(ws)).toEqual(['PATH', ...markers])
    expect(await reader.keepingMarkers(other)).toBeUndefined()
  })

  it('reads once per cwd while no config file changes; concurrent asks share one read', async () => {
    const { ws, answers, asked, reader } = setup()
    answers.set(ws, ['PATH'])
    const both = await Promise.all([reader.keepingMarkers(ws), reader.keepingMarkers(ws)])
    await reader.keepingMarkers(ws)
    expect(both).toEqual([
      ['PATH', ...markers],
      ['PATH', ...markers],
    ])
    expect(asked).toEqual([ws])
  })

  it("reads again when the cwd's .codex/config.toml appears, changes (same size) or goes", async () => {
    const { ws, answers, asked, reader } = setup()
    answers.set(ws, null)
    expect(await reader.keepingMarkers(ws)).toBeUndefined()
    writeProjectConfig(ws, 'shell_environment_policy.include_only = ["PATH"]\n')
    answers.set(ws, ['PATH'])
    expect(await reader.keepingMarkers(ws)).toEqual(['PATH', ...markers])
    // a rewrite of the same size, written aside and renamed over it (a new inode)
    const aside = path.join(ws, '.codex', 'next.toml')
    writeFileSync(aside, 'shell_environment_policy.include_only = ["HOME"]\n')
    renameSync(aside, path.join(ws, '.codex', 'config.toml'))
    answers.set(ws, ['HOME'])
    expect(await reader.keepingMarkers(ws)).toEqual(['HOME', ...markers])
    expect(asked).toEqual([ws, ws, ws])
  })

  it('reads again when CODEX_HOME/config.toml changes (trust, the user layer)', async () => {
    const { home, ws, answers, asked, reader } = setup()
    answers.set(ws, null)
    await reader.keepingMarkers(ws)
    writeFileSync(path.join(home, 'config.toml'), `[projects."${ws}"]\ntrust_level = "trusted"\n`)
    answers.set(ws, ['PATH'])
    expect(await reader.keepingMarkers(ws)).toEqual(['PATH', ...markers])
    expect(asked).toHaveLength(2)
  })

  it("reads again when a parent's .codex/config.toml or .git changes (the project root's layers)", async () => {
    const { ws, answers, asked, reader } = setup()
    const sub = path.join(ws, 'a', 'b')
    mkdirSync(sub, { recursive: true })
    answers.set(sub, null)
    await reader.keepingMarkers(sub)
    mkdirSync(path.join(ws, '.git'))
    await reader.keepingMarkers(sub)
    writeProjectConfig(path.join(ws, 'a'), 'x = 1\n')
    await reader.keepingMarkers(sub)
    await reader.keepingMarkers(sub)
    expect(asked).toEqual([sub, sub, sub])
  })

  it('a failed read is not kept: that ask gets undefined, the next reads again', async () => {
    const { ws, answers, asked, reader } = setup()
    expect(await reader.keepingMarkers(ws)).toBeUndefined()
    answers.set(ws, ['PATH'])
    expect(await reader.keepingMarkers(ws)).toEqual(['PATH', ...markers])
    expect(asked).toEqual([ws, ws])
  })

  it('an answer without a config is a failed read, not "no include_only" kept', async () => {
    const home = tempDir('ior-home-')
    const ws = tempDir('ior-ws-')
    let calls = 0
    const reader = new IncludeOnlyReader(async () => (++calls === 1 ? { nope: true } : { config: {} }), home)
    expect(await reader.keepingMarkers(ws)).toBeUndefined()
    expect(await reader.keepingMarkers(ws)).toBeUndefined()
    await reader.keepingMarkers(ws)
    expect(calls).toBe(2)
  })

  it('remembers at most maxEntries cwds, forgetting the oldest', async () => {
    const home = tempDir('ior-home-')
    const dirs = [tempDir('ior-a-'), tempDir('ior-b-'), tempDir('ior-c-')]
    const asked: string[] = []
    const reader = new IncludeOnlyReader(
      async (cwd) => {
        asked.push(cwd)
        return { config: {} }
      },
      home,
      2,
    )
    for (const dir of dirs) await reader.keepingMarkers(dir)
    await reader.keepingMarkers(dirs[2] as string)
    await reader.keepingMarkers(dirs[0] as string)
    expect(asked).toEqual([...dirs, dirs[0]])
  })
})

describe('configFilesSignature', () => {
  it('is stable while nothing changes and names every parent up to the root', async () => {
    const home = tempDir('ior-home-')
    const ws = tempDir('ior-ws-')
    const first = await configFilesSignature(home, ws)
    expect(await configFilesSignature(home, ws)).toBe(first)
    // CODEX_HOME/config.toml, 3 system files, then per directory from ws to / a project file and a .git
    const depth = path.resolve(ws).split(path.sep).length
    expect(first.split('|')).toHaveLength(4 + 2 * depth)
  })
})
