import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { claudeConversationExists } from '../../src/agents/claude/conversation-file.js'
import { tempDir } from '../support/temp.js'

/**
 * Whether a claude-agent-acp session's conversation is still in Claude's home (what tells a Claude Code that died
 * resuming it from a conversation gone: acp/driver.ts `historyKept`): `projects/<dir>/<id>.jsonl`, in the cwd's
 * project directory or any other; an id is a UUID, never a path.
 */
describe('claudeConversationExists', () => {
  const dir = tempDir('conversation-file-')
  const home = path.join(dir, 'claude')
  const env = { CLAUDE_CONFIG_DIR: home }
  const cwd = path.join(dir, 'work space', 'repo')
  mkdirSync(cwd, { recursive: true })
  const projects = path.join(home, 'projects')
  const id = '0b6f4a52-3c1d-4e8f-9a7b-2d5c6e8f1a3b'
  const put = (project: string, name = `${id}.jsonl`) => {
    mkdirSync(path.join(projects, project), { recursive: true })
    writeFileSync(path.join(projects, project, name), '{}\n')
  }

  it("finds it in the cwd's project directory, and in any other project directory", async () => {
    expect(await claudeConversationExists(env, cwd, id)).toBe(false)
    put(cwd.replace(/[^a-zA-Z0-9]/g, '-'))
    expect(await claudeConversationExists(env, cwd, id)).toBe(true)
    const other = '1c7a5b63-4d2e-4f9a-8b8c-3e6d7f9a2b4c'
    expect(await claudeConversationExists(env, cwd, other)).toBe(false)
    // a directory named by rules other than the gateway's (before: only the cwd's names were looked in)
    put('-elsewhere-named-otherwise', `${other}.jsonl`)
    expect(await claudeConversationExists(env, cwd, other)).toBe(true)
    expect(await claudeConversationExists(env, path.join(dir, 'gone'), other)).toBe(true)
  })

  it('takes a UUID only: a path, or a name with a directory in it, is never looked up', async () => {
    put('-x', 'not-a-uuid.jsonl')
    put('-x', '00000000-0000-0000-0000-000000000000.jsonl')
    for (const bad of [
      'not-a-uuid',
      '../-x/00000000-0000-0000-0000-000000000000',
      '----------------------------------a-',
    ])
      expect(await claudeConversationExists(env, cwd, bad)).toBe(false)
    expect(await claudeConversationExists(env, cwd, '00000000-0000-0000-0000-000000000000')).toBe(true)
  })

  it('is false without a projects directory', async () => {
    expect(await claudeConversationExists({ CLAUDE_CONFIG_DIR: path.join(dir, 'none') }, cwd, id)).toBe(false)
  })
})
