import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { copyClaudeConversation } from '../../src/agents/claude/conversation-copy.js'
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

/**
 * A fork's copy of its parent's conversation (copyClaudeConversation): complete lines only (Claude may be writing
 * the last one), up to a size (the file as a running turn found it) or a time (when the turn after a fork point
 * started: the lines Claude wrote before it).
 */
describe('copyClaudeConversation', () => {
  const dir = tempDir('conversation-copy-')
  const env = { CLAUDE_CONFIG_DIR: path.join(dir, 'claude') }
  const cwd = path.join(dir, 'repo')
  mkdirSync(cwd, { recursive: true })
  const project = path.join(dir, 'claude', 'projects', cwd.replace(/[^a-zA-Z0-9]/g, '-'))
  mkdirSync(project, { recursive: true })
  const from = '2d8b6c74-5e3f-4a0b-9c9d-4f7e8a0b3c5d'
  let next = 0
  /** A new conversation id (a fork's). */
  const newId = () => `3e9c7d85-6f4a-4b1c-8d0e-${String(++next).padStart(12, '0')}`
  const copyOf = (to: string) => readFileSync(path.join(project, `${to}.jsonl`), 'utf8')
  const line = (entry: Record<string, unknown>) => `${JSON.stringify({ sessionId: from, ...entry })}\n`
  const prompt = (text: string) => line({ type: 'user', message: { role: 'user', content: text } })
  const answer = (text: string) =>
    line({ type: 'assistant', message: { role: 'assistant', content: [{ type: 'text', text }] } })
  const toolResult = line({
    type: 'user',
    message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'ok' }] },
  })
  const meta = line({ type: 'user', isMeta: true, message: { role: 'user', content: 'caveat' } })
  /** Claude Code's queue entries before a turn's prompt (the prompt queued, then taken). */
  const queued = (text: string) =>
    line({ type: 'queue-operation', operation: 'enqueue', content: text }) +
    line({ type: 'queue-operation', operation: 'dequeue' })
  const turnOne = queued('one') + prompt('one') + answer('answer one') + line({ type: 'last-prompt' })
  const turnTwo = queued('two') + prompt('two') + toolResult + meta + answer('answer two')

  it('copies complete lines only: a last line being written is left out (before: copied cut in two)', async () => {
    const half = prompt('three').slice(0, 20)
    writeFileSync(path.join(project, `${from}.jsonl`), turnOne + turnTwo + half)
    const to = newId()
    expect(await copyClaudeConversation(env, cwd, from, to)).toBe(true)
    expect(copyOf(to)).toBe(turnOne + turnTwo)
  })

  it('up to a size: the complete lines before it', async () => {
    writeFileSync(path.join(project, `${from}.jsonl`), turnOne + turnTwo)
    const at = newId()
    expect(await copyClaudeConversation(env, cwd, from, at, { bytes: turnOne.length })).toBe(true)
    expect(copyOf(at)).toBe(turnOne)
    const within = newId()
    const cut = turnOne.length + 10
    expect(await copyClaudeConversation(env, cwd, from, within, { bytes: cut })).toBe(true)
    expect(copyOf(within)).toBe(turnOne)
    // nothing complete: no copy, and no file
    const none = newId()
    expect(await copyClaudeConversation(env, cwd, from, none, { bytes: 10 })).toBe(false)
    expect(existsSync(path.join(project, `${none}.jsonl`))).toBe(false)
  })

  it('up to a time: the lines before the first one Claude wrote then or later, whatever prompts they hold', async () => {
    /** A turn's lines as Claude writes them, each with its time but its own notes (`last-prompt`, `mode`). */
    const at = (ms: number, turn: string) =>
      turn
        .split('\n')
        .filter(Boolean)
        .map((text) => {
          const entry = JSON.parse(text) as { type: string }
          const note = entry.type === 'last-prompt'
          return `${JSON.stringify(note ? entry : { ...entry, timestamp: new Date(ms).toISOString() })}\n`
        })
        .join('')
    const t0 = Date.parse('2026-12-06T10:00:00.000Z')
    // turn two's process was killed after it queued its prompt, before it wrote it: its queue entries only
    const cancelled = at(t0 + 2000, queued('two'))
    const turnThree = at(t0 + 3000, queued('three') + prompt('three') + answer('three'))
    const early = at(t0, turnOne)
    writeFileSync(path.join(project, `${from}.jsonl`), early + cancelled + turnThree)
    const beforeTwo = newId()
    expect(await copyClaudeConversation(env, cwd, from, beforeTwo, { before: t0 + 1500 })).toBe(true)
    expect(copyOf(beforeTwo)).toBe(early)
    // the fork point after the cancelled turn: before turn three's lines (before: two prompts, three's included)
    const beforeThree = newId()
    expect(await copyClaudeConversation(env, cwd, from, beforeThree, { before: t0 + 2500 })).toBe(true)
    expect(copyOf(beforeThree)).toBe(early + cancelled)
    // a line with an earlier time after the cut (a `--fork-session` copy's parent entries) does not move it
    const forkSession = at(t0 + 4000, queued('four')) + early + at(t0 + 4000, prompt('four'))
    writeFileSync(path.join(project, `${from}.jsonl`), early + forkSession)
    const beforeFour = newId()
    expect(await copyClaudeConversation(env, cwd, from, beforeFour, { before: t0 + 3500 })).toBe(true)
    expect(copyOf(beforeFour)).toBe(early)
    const all = newId()
    expect(
      await copyClaudeConversation(env, cwd, from, all, { before: t0 + 9000, bytes: early.length + 3 }),
    ).toBe(true)
    expect(copyOf(all)).toBe(early)
    expect(await copyClaudeConversation(env, cwd, from, newId(), { before: t0 })).toBe(false)
  })

  it('never overwrites a conversation; false when the parent has none', async () => {
    writeFileSync(path.join(project, `${from}.jsonl`), turnOne)
    const to = newId()
    writeFileSync(path.join(project, `${to}.jsonl`), 'mine\n')
    await expect(copyClaudeConversation(env, cwd, from, to)).rejects.toThrow()
    expect(copyOf(to)).toBe('mine\n')
    expect(await copyClaudeConversation(env, cwd, '4fad8e96-7a5b-4c2d-9e1f-5a8b9c1d4e6f', newId())).toBe(
      false,
    )
  })
})
