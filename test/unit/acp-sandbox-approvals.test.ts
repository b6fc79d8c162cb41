import { mkdirSync, symlinkSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { copilotEditRules } from '../../src/agents/acp/copilot-edit-rules.js'
import { oneShotApprovals } from '../../src/agents/acp/one-shot-approvals.js'
import { sandboxApprovals } from '../../src/agents/acp/sandbox-approvals.js'
import { toolItem } from '../../src/agents/acp/tool-items.js'
import type { ApprovalAsk, ApprovalDecision, SessionHooks } from '../../src/agents/session.js'
import { tempDir } from '../support/temp.js'

/** A client that answers `decision` and counts what it was asked. */
function client(decision: ApprovalDecision): SessionHooks & { asked: ApprovalAsk[] } {
  const asked: ApprovalAsk[] = []
  return {
    asked,
    requestApproval: async (ask) => {
      asked.push(ask)
      return decision
    },
  }
}
const change = (file: string): ApprovalAsk => ({
  kind: 'file_change',
  changes: [{ path: file, kind: 'update' }],
  options: ['accept', 'accept_for_session', 'decline', 'cancel'],
})
const signal = new AbortController().signal

/** A session's cwd with a link in it to a directory outside it. */
function workspace() {
  const base = tempDir('sandbox-approvals-')
  const cwd = path.join(base, 'cwd')
  mkdirSync(cwd)
  mkdirSync(path.join(base, 'outside'))
  symlinkSync(path.join(base, 'outside'), path.join(cwd, 'out'))
  return { base, cwd }
}

describe('sandboxApprovals: file changes outside the cwd', () => {
  for (const sandbox of ['read-only', 'workspace-write'] as const)
    it(`${sandbox}: declined without asking (by path, through .., through a symlink); inside: asked or accepted`, async () => {
      const { base, cwd } = workspace()
      const asked = client('accept')
      const answers = sandboxApprovals(sandbox, undefined, cwd, asked)
      for (const outside of [
        path.join(base, 'x.txt'),
        path.join(cwd, '../x.txt'),
        path.join(cwd, 'out/x.txt'),
      ])
        expect(await answers.requestApproval(change(outside), signal)).toBe('decline')
      expect(asked.asked).toEqual([])
      expect(await answers.requestApproval(change(path.join(cwd, 'in.txt')), signal)).toBe('accept')
      expect(asked.asked).toHaveLength(sandbox === 'read-only' ? 1 : 0)
    })

  it('danger-full-access accepts it; a one-shot run in workspace-write declines it through a symlink', async () => {
    const { cwd } = workspace()
    const answers = sandboxApprovals('danger-full-access', undefined, cwd, client('decline'))
    expect(await answers.requestApproval(change(path.join(cwd, 'out/x.txt')), signal)).toBe('accept')
    const run = oneShotApprovals('workspace-write', cwd)
    expect(await run.requestApproval(change(path.join(cwd, 'out/x.txt')), signal)).toBe('decline')
    expect(await run.requestApproval(change(path.join(cwd, 'in.txt')), signal)).toBe('accept')
  })
})

describe('copilotEditRules', () => {
  it("an edit accepted for the session is answered allow_once (accept) and the session's later edits are accepted unasked; commands are still asked", async () => {
    const asked = client('accept_for_session')
    const rules = copilotEditRules(asked)
    expect(await rules.requestApproval(change('/w/a.txt'), signal)).toBe('accept')
    expect(await rules.requestApproval(change('/w/b.txt'), signal)).toBe('accept')
    expect(asked.asked).toHaveLength(1)
    const command: ApprovalAsk = { kind: 'command', command: 'ls', options: ['accept', 'decline'] }
    expect(await rules.requestApproval(command, signal)).toBe('accept_for_session')
    expect(asked.asked).toHaveLength(2)
  })

  it('a declined edit leaves the next one asked', async () => {
    const asked = client('decline')
    const rules = copilotEditRules(asked)
    expect(await rules.requestApproval(change('/w/a.txt'), signal)).toBe('decline')
    expect(await rules.requestApproval(change('/w/a.txt'), signal)).toBe('decline')
    expect(asked.asked).toHaveLength(2)
  })
})

describe("copilot's file change items", () => {
  const tool = (fileName: string, diff: string) => ({
    id: 'call_1',
    kind: 'edit',
    content: [],
    locations: [{ path: fileName }],
    rawInput: { fileName, diff },
    output: {},
  })
  it('carry its unified diff, a new file as an add', () => {
    const update = '\ndiff --git a/w/a.txt b/w/a.txt\n--- a/w/a.txt\n+++ b/w/a.txt\n@@ -1,1 +1,1 @@\n-a\n+b\n'
    const add = '\ndiff --git a/w/n.txt b/w/n.txt\n--- a/dev/null\n+++ b/w/n.txt\n@@ -1,0 +1,1 @@\n+new\n'
    expect(toolItem(tool('/w/a.txt', update))).toMatchObject({
      type: 'file_change',
      changes: [{ path: '/w/a.txt', kind: 'update', diff: update.slice(1) }],
    })
    expect(toolItem(tool('/w/n.txt', add))).toMatchObject({
      changes: [{ path: '/w/n.txt', kind: 'add', diff: add.slice(1) }],
    })
  })
})
