import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Approval, Session, Turn } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import {
  finishedTurnAt,
  gatewayModules,
  pendingApprovalAt,
  postJson,
  sessionEventsUntilTurnEnd,
  startGateway,
  type TestGateway,
  testApiKey,
  testModel,
} from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'
import { tempDir } from '../support/temp.js'

/**
 * Permission requests of the ACP agents that ask (Claude Code through claude-agent-acp, `gemini --acp`,
 * `copilot --acp`) surface as approval.requested and are answered over HTTP: allow runs the command (the file is
 * written), reject does not. They are also given their sandbox and approval policy by the gateway's answers
 * (sandbox-approvals.ts): a read-only session with approvalPolicy `never` asks nobody and runs nothing, a
 * workspace-write one runs a command in its cwd unasked, and a command gemini or copilot runs sees no key. What a
 * claude-agent-acp session's accept_for_session allowed is kept with it, across a gateway restart. The files the
 * gateway writes for an agent (`fs/write_text_file`) are the sandbox's too (write-grants.ts): a read-only session
 * writes only what the client approved (Gemini CLI's approved edit and new file, a custom agent's), in that turn
 * only, and with the content the approved diff showed.
 */
const geminiKey = 'gemini-secret-key-5f1c9a2e7b'
const session = async (gw: TestGateway, body: Record<string, unknown>) => {
  const res = await postJson(`${gw.url}/v1/sessions`, body)
  const created = (await res.json()) as Session
  expect(res.status, JSON.stringify(created)).toBe(201)
  return created
}
const turnOf = async (gw: TestGateway, s: Session, input: string) =>
  (await (await postJson(`${gw.url}/v1/sessions/${s.id}/turns`, { input })).json()) as Turn

/** A custom agent (ACP_AGENTS) that asks about and writes files as its prompt says (test/fixtures/acp-fs-agent.mjs). */
const fsAgent = `fswrite=${process.execPath} ${fileURLToPath(new URL('../fixtures/acp-fs-agent.mjs', import.meta.url))}`

/**
 * claude-agent-acp (as the gateway starts it) with Claude Code (its SDK's native binary) behind a wrapper that runs
 * `first` before it; the path of claude-agent-acp's own wrapper (in `dir`), for ACP_AGENTS.
 */
function claudeAgentBehind(dir: string, first: string): string {
  const require = createRequire(import.meta.url)
  const agent = path.join(
    path.dirname(require.resolve('@agentclientprotocol/claude-agent-acp/package.json')),
    'dist',
    'index.js',
  )
  const claude = createRequire(agent).resolve(
    `@anthropic-ai/claude-agent-sdk-${process.platform}-${process.arch}/claude`,
  )
  const cli = path.join(dir, 'claude-cli.sh')
  writeFileSync(cli, `#!/bin/sh\n${first}\nexec '${claude}' "$@"\n`, { mode: 0o755 })
  const wrapper = path.join(dir, 'claude-agent-acp.sh')
  const run = `CLAUDE_CODE_EXECUTABLE='${cli}' exec '${process.execPath}' '${agent}' "$@"`
  writeFileSync(wrapper, `#!/bin/sh\n${run}\n`, { mode: 0o755 })
  return wrapper
}

/**
 * Claude Code exits at once (0, before a word: claude-agent-acp answers `Resource not found`, as when the
 * conversation is gone) when asked to resume a conversation while `fails` exists.
 */
const failingResumeAgent = (dir: string, fails: string): string =>
  claudeAgentBehind(dir, `case " $* " in *" --resume="*) [ -e '${fails}' ] && exit 0;; esac`)

/**
 * Each Claude Code claude-agent-acp starts writes a file of its own into `log`: what it is (`auth-status`: a
 * `claude auth status`, else `claude`) and its cwd, its environment, then its claude-agent-acp's.
 */
const recordingAgent = (dir: string, log: string): string =>
  claudeAgentBehind(
    dir,
    [
      `case " $* " in *" auth status "*) kind=auth-status;; *) kind=claude;; esac`,
      `{ echo "$kind $(pwd -P)"; env; echo "== agent"; tr '\\0' '\\n' < /proc/$PPID/environ; } > '${log}'/$$`,
    ].join('\n'),
  )

/** What `recordingAgent` recorded of the Claude Codes started in `cwd`. */
function claudeStartsIn(log: string, cwd: string) {
  const here = realpathSync(cwd)
  return readdirSync(log).flatMap((name) => {
    const text = readFileSync(path.join(log, name), 'utf8')
    const [head = '', ...rest] = text.split('\n')
    const [kind, at] = [head.slice(0, head.indexOf(' ')), head.slice(head.indexOf(' ') + 1)]
    if (at !== here) return []
    const [env = '', agentEnv = ''] = rest.join('\n').split('\n== agent\n')
    return [{ kind, env, agentEnv }]
  })
}

gatewayModules()

// Every test on its own session and prompt: they run at once (each agent's CLI starts once, for all of its sessions).
// Its tests run at once (5 at a time), each sharing the machine with the others: in a loaded CI run one took 24 s
// of the 60 s a test had, the restart case 37.5 s of its 90 s; twice that each now (the restart case 240 s: it also
// runs a session whose conversation is gone across the restart, 3 turns more; 116 s on a loaded machine).
describe.concurrent('ACP permission requests over HTTP', () => {
  let mock: MockLlm
  let gw: TestGateway
  /** Where claude-agent-acp's Claude Codes are recorded (recordingAgent). */
  let starts = ''

  beforeAll(async () => {
    starts = tempDir('claude-starts-')
    mock = await startMockLlm()
    gw = await startGateway(null, {
      ANTHROPIC_BASE_URL: mock.url,
      ANTHROPIC_API_KEY: 'sk-ant-test',
      CLAUDE_CODE_MAX_RETRIES: '0',
      GOOGLE_GEMINI_BASE_URL: mock.url,
      GEMINI_API_KEY: geminiKey,
      GEMINI_MODEL: 'gemini-2.5-flash',
      COPILOT_PROVIDER_BASE_URL: mock.baseUrl,
      COPILOT_PROVIDER_API_KEY: testApiKey,
      COPILOT_MODEL: testModel,
      // opt-in preset (agent-spec.ts); claude-agent-acp's Claude Codes recorded
      ACP_AGENTS: `copilot,claude-agent-acp=${recordingAgent(starts, starts)},${fsAgent}`,
    })
    mock.setDefault({ kind: 'text', text: 'OK' })
  })
  afterAll(async () => {
    await gw.close()
    await mock.close()
    expect(await waitUntilGone(() => processesUnder(gw.workspace))).toEqual([])
  })

  for (const agent of ['acp:claude-agent-acp', 'acp:gemini', 'acp:copilot']) {
    const name = agent.slice(4)
    for (const [decision, written] of [
      ['accept', true],
      ['decline', false],
    ] as const) {
      it(`${agent}: answered ${decision} over HTTP, the file is ${written ? '' : 'not '}written`, async () => {
        const file = `${name}-${decision}.txt`
        mock.on(
          `write ${file}`,
          { kind: 'exec_command', cmd: `echo hi > ${file}` },
          { kind: 'text', text: 'done' },
        )
        const s = await session(gw, { agent })
        expect(s).toMatchObject({ agent, status: 'idle' })
        const turn = await turnOf(gw, s, `write ${file}`)
        const approval = await pendingApprovalAt(gw.url, s.id)
        expect(approval).toMatchObject({ kind: 'command', state: 'pending' })
        expect(approval.command).toContain(`echo hi > ${file}`)
        const status = (await (await fetch(`${gw.url}/v1/sessions/${s.id}`)).json()) as Session
        expect(status.status).toBe('waiting_for_approval')
        const answer = await postJson(`${gw.url}/v1/approvals/${approval.id}`, { decision })
        expect(answer.status).toBe(200)
        const done = await finishedTurnAt(gw.url, s.id, turn.id)
        expect(['completed', 'interrupted']).toContain(done.status)
        expect(existsSync(path.join(s.cwd, file))).toBe(written)
      }, 120_000)
    }
  }

  // Gemini CLI asks about an edit, then has the gateway write it (fs/write_text_file): the approved edit is written in
  // a read-only session (the sandbox the gateway now enforces on its writes), a declined one is not asked for.
  it('acp:gemini: an edit approved over HTTP in a read-only session is written through the gateway', async () => {
    const s = await session(gw, { agent: 'acp:gemini', sandbox: 'read-only' })
    const file = path.join(s.cwd, 'gemini-edit.txt')
    // an existing file (a new one: the test below)
    writeFileSync(file, 'old\n')
    mock.on(
      'edit gemini-edit',
      { kind: 'tool_use', name: 'write_file', input: { file_path: file, content: 'edited\n' } },
      { kind: 'text', text: 'edited it' },
    )
    const turn = await turnOf(gw, s, 'edit gemini-edit')
    const approval = await pendingApprovalAt(gw.url, s.id)
    expect(approval).toMatchObject({ kind: 'file_change', state: 'pending' })
    expect((await postJson(`${gw.url}/v1/approvals/${approval.id}`, { decision: 'accept' })).status).toBe(200)
    expect(await finishedTurnAt(gw.url, s.id, turn.id)).toMatchObject({ status: 'completed' })
    expect(readFileSync(file, 'utf8')).toBe('edited\n')
  }, 120_000)

  // Gemini CLI reads files itself (the gateway does not offer it fs/read_text_file): it took the gateway's error for a
  // missing file as no answer at all, so its write_file of a new file failed before asking anything. Now the new file
  // is asked about (an `add`) and, approved, written through the gateway, in a directory of its own too.
  it('acp:gemini: a new file approved over HTTP in a read-only session is created through the gateway', async () => {
    const s = await session(gw, { agent: 'acp:gemini', sandbox: 'read-only' })
    const file = path.join(s.cwd, 'made', 'gemini-new.txt')
    mock.on(
      'create gemini-new',
      { kind: 'tool_use', name: 'write_file', input: { file_path: file, content: 'brand new\n' } },
      { kind: 'text', text: 'created it' },
    )
    const turn = await turnOf(gw, s, 'create gemini-new')
    // the turn ends without asking when Gemini CLI cannot read the missing file (as before)
    const asked = await Promise.race([
      pendingApprovalAt(gw.url, s.id),
      finishedTurnAt(gw.url, s.id, turn.id).then((t) => ({ turnEnded: t.finalResponse })),
    ])
    expect(asked).toMatchObject({
      kind: 'file_change',
      state: 'pending',
      changes: [{ path: file, kind: 'add' }],
    })
    if (!('id' in asked)) return
    expect((await postJson(`${gw.url}/v1/approvals/${asked.id}`, { decision: 'accept' })).status).toBe(200)
    expect(await finishedTurnAt(gw.url, s.id, turn.id)).toMatchObject({ status: 'completed' })
    expect(readFileSync(file, 'utf8')).toBe('brand new\n')
  }, 120_000)

  // Gemini CLI's `replace` with an empty old_string creates the file: asked as an `add` (no old text, the new file's
  // text as its diff's new text), and, approved, written through the gateway with that content.
  it('acp:gemini: a replace with an empty old_string approved in a read-only session creates the file with its text', async () => {
    const s = await session(gw, { agent: 'acp:gemini', sandbox: 'read-only' })
    const file = path.join(s.cwd, 'gemini-replace-new.txt')
    mock.on(
      'replace gemini-replace-new',
      {
        kind: 'tool_use',
        name: 'replace',
        input: { file_path: file, old_string: '', new_string: 'made by replace\n', instruction: 'create it' },
      },
      { kind: 'text', text: 'created it' },
    )
    const turn = await turnOf(gw, s, 'replace gemini-replace-new')
    const approval = await pendingApprovalAt(gw.url, s.id)
    expect(approval).toMatchObject({ kind: 'file_change', changes: [{ path: file, kind: 'add' }] })
    expect(existsSync(file)).toBe(false)
    expect((await postJson(`${gw.url}/v1/approvals/${approval.id}`, { decision: 'accept' })).status).toBe(200)
    expect(await finishedTurnAt(gw.url, s.id, turn.id)).toMatchObject({ status: 'completed' })
    expect(readFileSync(file, 'utf8')).toBe('made by replace\n')
  }, 120_000)

  // copilot asks about each edit (kind `edit`, its unified diff in rawInput) and then writes it itself, not through the
  // gateway's fs/write_text_file: the gateway's answers are all that keep its sandbox. An edit of a file outside the
  // cwd is declined unasked (before: asked, and written when accepted), in read-only as in workspace-write; the
  // client sees the diff it approves, and a new file as an `add`.
  const copilotPatch = (op: 'Add' | 'Update', file: string, body: string) =>
    ({
      kind: 'apply_patch',
      patch: `*** Begin Patch\n*** ${op} File: ${file}\n${body}*** End Patch\n`,
    }) as const
  const copilotApprovals = async (s: Session) =>
    ((await (await fetch(`${gw.url}/v1/approvals?sessionId=${s.id}`)).json()) as { approvals: Approval[] })
      .approvals
  /** The session's first pending approval, or the turn's end when it asks nothing. */
  const askedOrEnded = (s: Session, turn: Turn) =>
    Promise.race([
      pendingApprovalAt(gw.url, s.id),
      finishedTurnAt(gw.url, s.id, turn.id).then((t) => ({ turnEnded: t.status })),
    ])

  for (const sandbox of ['read-only', 'workspace-write'] as const) {
    it(`acp:copilot (${sandbox}): an edit outside the cwd is declined without asking, and not written`, async () => {
      const s = await session(gw, { agent: 'acp:copilot', sandbox })
      const outside = path.join(gw.dir, `copilot-outside-${sandbox}.txt`)
      const input = `copilot outside ${sandbox}`
      mock.on(input, copilotPatch('Add', outside, '+outside\n'), { kind: 'text', text: 'tried' })
      const turn = await turnOf(gw, s, input)
      expect(await askedOrEnded(s, turn)).toEqual({ turnEnded: 'completed' })
      expect(existsSync(outside)).toBe(false)
      expect(await copilotApprovals(s)).toEqual([])
      const events = await sessionEventsUntilTurnEnd(gw.url, s.id, turn.id)
      const changes = events.flatMap((e) =>
        e.type === 'item.completed' && e.item.type === 'file_change' ? [e.item] : [],
      )
      expect(changes).toMatchObject([{ status: 'declined', changes: [{ path: outside, kind: 'add' }] }])
    }, 120_000)
  }

  it('acp:copilot (read-only): an edit is asked with its diff and written when accepted; accept_for_session lets the next edits in the cwd be written unasked, never one outside it', async () => {
    const cwd = path.join(gw.workspace, 'copilot-edits')
    mkdirSync(cwd)
    const file = path.join(cwd, 'big.txt')
    const lines = Array.from({ length: 40 }, (_, i) => `line${i + 1}`)
    writeFileSync(file, `${lines.join('\n')}\n`)
    const s = await session(gw, { agent: 'acp:copilot', cwd, sandbox: 'read-only' })
    mock.on('copilot edit line20', copilotPatch('Update', file, '@@\n line19\n-line20\n+LINE20\n line21\n'), {
      kind: 'text',
      text: 'edited',
    })
    const first = await turnOf(gw, s, 'copilot edit line20')
    const approval = await pendingApprovalAt(gw.url, s.id)
    expect(approval).toMatchObject({ kind: 'file_change', changes: [{ path: file, kind: 'update' }] })
    expect(approval.changes?.[0]?.diff).toMatch(
      /^@@ -17,7 \+17,7 @@\n line17\n line18\n line19\n-line20\n\+LINE20\n/m,
    )
    expect(readFileSync(file, 'utf8')).toBe(`${lines.join('\n')}\n`)
    await postJson(`${gw.url}/v1/approvals/${approval.id}`, { decision: 'accept_for_session' })
    expect(await finishedTurnAt(gw.url, s.id, first.id)).toMatchObject({ status: 'completed' })
    expect(readFileSync(file, 'utf8')).toContain('\nline19\nLINE20\nline21\n')
    // a new file in the cwd: accepted by the gateway (nobody asked); one outside it: declined (before: copilot's
    // allow_always had it write any file unasked, this one too)
    const made = path.join(cwd, 'made.txt')
    const outside = path.join(gw.dir, 'copilot-outside-after-always.txt')
    mock.on(
      'copilot two more',
      copilotPatch('Add', made, '+made\n'),
      copilotPatch('Add', outside, '+out\n'),
      {
        kind: 'text',
        text: 'done',
      },
    )
    const second = await turnOf(gw, s, 'copilot two more')
    expect(await askedOrEnded(s, second)).toEqual({ turnEnded: 'completed' })
    expect(readFileSync(made, 'utf8')).toBe('made\n')
    expect(existsSync(outside)).toBe(false)
    expect(await copilotApprovals(s)).toHaveLength(1)
  }, 120_000)

  it('acp:copilot (read-only): a declined new file is not written', async () => {
    const s = await session(gw, { agent: 'acp:copilot', sandbox: 'read-only' })
    const file = path.join(s.cwd, 'copilot-declined.txt')
    mock.on('copilot declined file', copilotPatch('Add', file, '+no\n'), { kind: 'text', text: 'ok' })
    const turn = await turnOf(gw, s, 'copilot declined file')
    const approval = await pendingApprovalAt(gw.url, s.id)
    expect(approval).toMatchObject({ kind: 'file_change', changes: [{ path: file, kind: 'add' }] })
    await postJson(`${gw.url}/v1/approvals/${approval.id}`, { decision: 'decline' })
    expect(await finishedTurnAt(gw.url, s.id, turn.id)).toMatchObject({ status: 'completed' })
    expect(existsSync(file)).toBe(false)
  }, 120_000)

  // A custom agent that writes without asking: the gateway does the write, so the sandbox is the gateway's to keep.
  it('acp:fswrite (custom): a read-only session writes only what the client approved, in that turn; workspace-write writes', async () => {
    const s = await session(gw, { agent: 'acp:fswrite', sandbox: 'read-only' })
    const inCwd = (name: string) => path.join(s.cwd, name)
    const refused =
      /refused: Invalid request: .*sandbox is read-only, and no file change of this path was approved/
    const unasked = await finishedTurnAt(gw.url, s.id, (await turnOf(gw, s, 'write sub/unasked.txt')).id)
    expect(unasked).toMatchObject({ status: 'completed' })
    expect(unasked.finalResponse).toMatch(new RegExp(`^write sub/unasked.txt: ${refused.source}`))
    expect(existsSync(inCwd('sub'))).toBe(false)
    // asked, approved over HTTP: that path is written, another one of the same turn is not
    const turn = await turnOf(gw, s, 'ask asked.txt; write asked.txt; write other.txt')
    const approval = await pendingApprovalAt(gw.url, s.id)
    expect(approval).toMatchObject({ kind: 'file_change', state: 'pending' })
    expect((await postJson(`${gw.url}/v1/approvals/${approval.id}`, { decision: 'accept' })).status).toBe(200)
    const approved = await finishedTurnAt(gw.url, s.id, turn.id)
    const [asked, written, other] = (approved.finalResponse ?? '').split('\n')
    expect([asked, written]).toEqual(['ask asked.txt: allow', 'write asked.txt: written'])
    expect(other).toMatch(new RegExp(`^write other.txt: ${refused.source}`))
    expect(readFileSync(inCwd('asked.txt'), 'utf8')).toMatch(/^written by /)
    expect(existsSync(inCwd('other.txt'))).toBe(false)
    // the approval was that turn's
    rmSync(inCwd('asked.txt'))
    const later = await finishedTurnAt(gw.url, s.id, (await turnOf(gw, s, 'write asked.txt')).id)
    expect(later.finalResponse).toMatch(new RegExp(`^write asked.txt: ${refused.source}`))
    expect(existsSync(inCwd('asked.txt'))).toBe(false)
    // approved with one content, written with another: refused, the agent told, the client shown an error item
    const forged = await turnOf(gw, s, 'ask forged.txt; write-other forged.txt; write forged.txt')
    const forgedApproval = await pendingApprovalAt(gw.url, s.id)
    expect(
      (await postJson(`${gw.url}/v1/approvals/${forgedApproval.id}`, { decision: 'accept' })).status,
    ).toBe(200)
    const forgedDone = await finishedTurnAt(gw.url, s.id, forged.id)
    const [, forgedWrite, approvedWrite] = (forgedDone.finalResponse ?? '').split('\n')
    const notApproved =
      /refused: Invalid request: .*sandbox is read-only, and this content is not what the file change/
    expect(forgedWrite).toMatch(new RegExp(`^write-other forged.txt: ${notApproved.source}`))
    expect(approvedWrite).toBe('write forged.txt: written')
    expect(readFileSync(inCwd('forged.txt'), 'utf8')).toMatch(/^written by /)
    const events = await sessionEventsUntilTurnEnd(gw.url, s.id, forged.id)
    const shown = events.flatMap((e) =>
      e.type === 'item.completed' && e.item.type === 'error' && e.item.message.includes('forged.txt')
        ? [e.item.message]
        : [],
    )
    expect(shown).toEqual([expect.stringMatching(/forged\.txt: not written: .*not what the file change/)])
    // a change named by its location only (no diff: no content shown): any content of that path
    const located = await turnOf(gw, s, 'ask-location located.txt; write-other located.txt')
    const locatedApproval = await pendingApprovalAt(gw.url, s.id)
    expect(
      (await postJson(`${gw.url}/v1/approvals/${locatedApproval.id}`, { decision: 'accept' })).status,
    ).toBe(200)
    const locatedDone = await finishedTurnAt(gw.url, s.id, located.id)
    expect(locatedDone.finalResponse?.split('\n')[1]).toBe('write-other located.txt: written')
    // workspace-write: written unasked, as before
    const ww = await session(gw, { agent: 'acp:fswrite', sandbox: 'workspace-write' })
    const done = await finishedTurnAt(gw.url, ww.id, (await turnOf(gw, ww, 'write ww/new.txt')).id)
    expect(done.finalResponse).toBe('write ww/new.txt: written')
    expect(readFileSync(path.join(ww.cwd, 'ww/new.txt'), 'utf8')).toMatch(/^written by /)
  }, 120_000)

  // A workspace is written by agents and repositories: the Gemini CLI of acp:gemini does not trust it, so its
  // `.gemini/settings.json` (hooks, tool discovery command, MCP servers: commands outside any approval) is not loaded.
  it("acp:gemini: the workspace's .gemini/settings.json runs nothing", async () => {
    const cwd = path.join(gw.workspace, 'planted')
    const marker = (what: string) => path.join(gw.dir, `acp-gemini-${what}`)
    const touch = (what: string) => `touch ${marker(what)}`
    const hook = (what: string) => [{ hooks: [{ type: 'command', command: touch(`hook-${what}`) }] }]
    mkdirSync(path.join(cwd, '.gemini'), { recursive: true })
    writeFileSync(
      path.join(cwd, '.gemini', 'settings.json'),
      JSON.stringify({
        hooksConfig: { enabled: true },
        hooks: { SessionStart: hook('session-start'), BeforeAgent: hook('before-agent') },
        mcpServers: { planted: { command: 'sh', args: ['-c', `${touch('mcp')}; sleep 1`] } },
        tools: { discoveryCommand: `sh -c "${touch('discovery')}; echo []"` },
      }),
    )
    mock.on('planted workspace', { kind: 'text', text: 'seen' })
    const s = await session(gw, { agent: 'acp:gemini', cwd, sandbox: 'read-only', approvalPolicy: 'never' })
    const done = await finishedTurnAt(gw.url, s.id, (await turnOf(gw, s, 'planted workspace')).id)
    expect(done).toMatchObject({ status: 'completed', finalResponse: 'seen' })
    for (const what of ['hook-session-start', 'hook-before-agent', 'mcp', 'discovery'])
      expect(existsSync(marker(what)), `${what} ran`).toBe(false)
  }, 120_000)

  // What the sandbox refuses unasked (a Write outside the cwd, a WebFetch: the gateway's answers) ends `declined`, as
  // native claude's does (claude/stream-events.ts isDenial).
  it('acp:claude-agent-acp: workspace-write with approvalPolicy never runs a command in its cwd, asking nobody; a Write outside it and a WebFetch are declined', async () => {
    const file = 'claude-agent-acp-never-ww.txt'
    const outside = path.join(gw.dir, 'acp-never-outside.txt')
    const url = `http://127.0.0.1:${new URL(mock.url).port}/acp-never`
    mock.on(
      `run ${file}`,
      { kind: 'exec_command', cmd: `echo hi > ${file}` },
      { kind: 'tool_use', name: 'Write', input: { file_path: outside, content: 'x' } },
      { kind: 'tool_use', name: 'WebFetch', input: { url, prompt: 'summarize' } },
      { kind: 'text', text: 'ran' },
    )
    const s = await session(gw, {
      agent: 'acp:claude-agent-acp',
      sandbox: 'workspace-write',
      approvalPolicy: 'never',
    })
    const turn = await turnOf(gw, s, `run ${file}`)
    const done = await finishedTurnAt(gw.url, s.id, turn.id)
    expect(done.status).toBe('completed')
    const asked = (await (await fetch(`${gw.url}/v1/approvals?sessionId=${s.id}`)).json()) as {
      approvals: unknown[]
    }
    expect(asked.approvals).toEqual([])
    expect(existsSync(path.join(s.cwd, file))).toBe(true)
    expect(existsSync(outside)).toBe(false)
    const events = await sessionEventsUntilTurnEnd(gw.url, s.id, turn.id)
    const items = events.flatMap((e) => (e.type === 'item.completed' ? [e.item] : []))
    expect(items.map((item) => [item.type, 'status' in item ? item.status : undefined])).toEqual([
      ['command_execution', 'completed'],
      ['file_change', 'declined'],
      ['tool_call', 'declined'],
      ['agent_message', undefined],
    ])
  }, 120_000)

  // On a gateway of its own, which it restarts over the same data directory (the others go on meanwhile).
  it('acp:claude-agent-acp: accept_for_session is kept with the session: the command and the web search run unasked later, after a gateway restart too; a session whose conversation is gone says so and goes on', async () => {
    const append = `node -e "require('fs').appendFileSync('kept.txt', 'x')"`
    const inputs = ['append kept', 'append kept again', 'append kept after the restart']
    for (const input of inputs)
      mock.on(input, { kind: 'exec_command', cmd: append }, { kind: 'text', text: 'done' })
    // a web search: Claude Code's rule for it (`WebSearch`) would allow every search, so the gateway keeps its own
    const search = (query: string) => ({ kind: 'tool_use', name: 'WebSearch', input: { query } }) as const
    const [kept, other] = ['kept search across restarts', 'another search after the restart']
    const searches = ['search kept', 'search kept after the restart', 'search other after the restart']
    for (const [input, query] of [
      [searches[0]!, kept],
      [searches[1]!, kept],
      [searches[2]!, other],
    ] as const)
      mock.on(input, search(query), { kind: 'text', text: 'found' })
    const goneInputs = ['gone first kappa', 'gone second lambda', 'gone third mu']
    mock.on(goneInputs[0]!, { kind: 'text', text: 'first answer' })
    mock.on(goneInputs[1]!, { kind: 'text', text: 'answered afresh' })
    mock.on(goneInputs[2]!, { kind: 'text', text: 'third answer' })
    let own = await startGateway(null, {
      ANTHROPIC_BASE_URL: mock.url,
      ANTHROPIC_API_KEY: 'sk-ant-test',
      CLAUDE_CODE_MAX_RETRIES: '0',
    })
    const approvalsOf = async (s: Session) =>
      ((await (await fetch(`${own.url}/v1/approvals?sessionId=${s.id}`)).json()) as { approvals: unknown[] })
        .approvals
    try {
      const s = await session(own, { agent: 'acp:claude-agent-acp' })
      const first = await turnOf(own, s, inputs[0]!)
      const approval = await pendingApprovalAt(own.url, s.id)
      expect(approval).toMatchObject({ kind: 'command', command: append })
      expect(approval.options).toContain('accept_for_session')
      await postJson(`${own.url}/v1/approvals/${approval.id}`, { decision: 'accept_for_session' })
      expect((await finishedTurnAt(own.url, s.id, first.id)).status).toBe('completed')
      const searched = await turnOf(own, s, searches[0]!)
      const asked = await pendingApprovalAt(own.url, s.id)
      expect(asked).toMatchObject({ kind: 'permission', reason: `Search "${kept}"` })
      await postJson(`${own.url}/v1/approvals/${asked.id}`, { decision: 'accept_for_session' })
      expect((await finishedTurnAt(own.url, s.id, searched.id)).status).toBe('completed')
      // kept with the session as Claude Code's rule for the exact command and the gateway's for the exact search;
      // nothing written to the workspace's .claude/settings.local.json (where claude-agent-acp's own allow_always
      // puts them)
      const stored = (await (await fetch(`${own.url}/v1/sessions/${s.id}`)).json()) as Session
      expect(stored.allowedForSession).toEqual([
        String.raw`Bash(node -e "require\('fs'\).appendFileSync\('kept.txt', 'x'\)")`,
        `gateway:WebSearch {"query":"${kept}"}`,
      ])
      expect(existsSync(path.join(s.cwd, '.claude'))).toBe(false)
      const second = await turnOf(own, s, inputs[1]!)
      expect((await finishedTurnAt(own.url, s.id, second.id)).status).toBe('completed')

      // another session, whose conversation Claude will not find after the restart (its file removed)
      const gone = await session(own, { agent: 'acp:claude-agent-acp' })
      const goneFirst = await turnOf(own, gone, goneInputs[0]!)
      expect((await finishedTurnAt(own.url, gone.id, goneFirst.id)).status).toBe('completed')
      const projects = path.join(own.env.HOME ?? '', '.claude', 'projects')
      const files = readdirSync(projects).flatMap((dir) => {
        const file = path.join(projects, dir, `${gone.agentSessionId}.jsonl`)
        return existsSync(file) ? [file] : []
      })
      expect(files).toHaveLength(1)

      // a new gateway over the same data directory loads the session (session/load) in a new agent process; its
      // claude-agent-acp starts Claude Code through a wrapper that exits at once, while `cliFails` is there, when
      // asked to resume a conversation (a Claude Code that dies at start-up)
      await own.close()
      for (const file of files) rmSync(file)
      const cliFails = path.join(own.dir, 'claude-cli-fails')
      const env = { ...own.env, ACP_AGENTS: `claude-agent-acp=${failingResumeAgent(own.dir, cliFails)}` }
      const { startServer } = await import('../../src/http/server.js')
      const restarted = await startServer({ env, cwd: own.dir, logger: false })
      own = { ...restarted, env, dir: own.dir, workspace: own.workspace }

      // it says so first, then goes on in a new conversation (before: every turn failed, "Resource not found")
      const goneSecond = await turnOf(own, gone, goneInputs[1]!)
      expect(goneSecond.id, JSON.stringify(goneSecond)).toBeDefined()
      expect(await finishedTurnAt(own.url, gone.id, goneSecond.id)).toMatchObject({
        status: 'completed',
        finalResponse: 'answered afresh',
      })
      const goneEvents = await sessionEventsUntilTurnEnd(own.url, gone.id, goneSecond.id)
      const items = goneEvents
        .slice(goneEvents.findIndex((e) => e.type === 'turn.started' && e.turnId === goneSecond.id))
        .flatMap((e) => (e.type === 'item.completed' ? [e.item] : []))
      expect(items[0]).toMatchObject({
        id: 'context_lost',
        type: 'error',
        message: expect.stringMatching(/^context lost: Claude has no conversation .* to load/),
      })
      expect(items.at(-1)).toMatchObject({ type: 'agent_message', text: 'answered afresh' })
      const requestsOf = (input: string) => mock.requests.filter((r) => mock.lastUserText(r).includes(input))
      const afresh = JSON.stringify(requestsOf(goneInputs[1]!).at(-1)?.body)
      expect(afresh).not.toContain(goneInputs[0])
      // the new conversation's id is stored: the next turn loads nothing, says nothing, and has the turn before
      const moved = (await (await fetch(`${own.url}/v1/sessions/${gone.id}`)).json()) as Session
      expect(moved.agentSessionId).not.toBe(gone.agentSessionId)
      const goneThird = await turnOf(own, gone, goneInputs[2]!)
      expect((await finishedTurnAt(own.url, gone.id, goneThird.id)).status).toBe('completed')
      const thirdEvents = await sessionEventsUntilTurnEnd(own.url, gone.id, goneThird.id)
      const thirdStarted = thirdEvents.findIndex(
        (e) => e.type === 'turn.started' && e.turnId === goneThird.id,
      )
      expect(
        thirdEvents.slice(thirdStarted).some((e) => e.type === 'item.completed' && e.item.type === 'error'),
      ).toBe(false)
      expect(JSON.stringify(requestsOf(goneInputs[2]!).at(-1)?.body)).toContain(goneInputs[1])

      // Claude Code dies as it starts to resume s's conversation, whose file is there: claude-agent-acp answers as
      // for a conversation gone, but nothing is lost: the turn fails, saying why, and the next one loads the
      // conversation (before: it went on in a new conversation, with a false context_lost)
      writeFileSync(cliFails, '')
      const refused = await postJson(`${own.url}/v1/sessions/${s.id}/turns`, { input: 'resumed Claude dies' })
      const refusal = await refused.text()
      rmSync(cliFails)
      expect(refused.status, refusal).toBe(500)
      expect(JSON.parse(refusal)).toMatchObject({
        error: {
          code: 'agent_failed',
          message: expect.stringMatching(
            /could not load the session .* \(Resource not found.*\), though its conversation is still there/,
          ),
        },
      })
      const third = await turnOf(own, s, inputs[2]!)
      expect((await finishedTurnAt(own.url, s.id, third.id)).status).toBe('completed')
      const resumed = (await (await fetch(`${own.url}/v1/sessions/${s.id}`)).json()) as Session
      expect(resumed.agentSessionId).toBe(s.agentSessionId)
      expect(JSON.stringify(requestsOf(inputs[2]!).at(-1)?.body)).toContain(inputs[1])
      expect(readFileSync(path.join(s.cwd, 'kept.txt'), 'utf8')).toBe('xxx')
      // asked again, either would wait for an answer
      const again = await turnOf(own, s, searches[1]!)
      expect((await finishedTurnAt(own.url, s.id, again.id)).status).toBe('completed')
      expect(await approvalsOf(s)).toHaveLength(2)
      // another search is asked
      const another = await turnOf(own, s, searches[2]!)
      const anotherAsked = await pendingApprovalAt(own.url, s.id)
      expect(anotherAsked).toMatchObject({ kind: 'permission', reason: `Search "${other}"` })
      await postJson(`${own.url}/v1/approvals/${anotherAsked.id}`, { decision: 'accept' })
      expect((await finishedTurnAt(own.url, s.id, another.id)).status).toBe('completed')
      expect(await approvalsOf(s)).toHaveLength(3)
      const after = (await (await fetch(`${own.url}/v1/sessions/${s.id}`)).json()) as Session
      expect(after.allowedForSession).toEqual(stored.allowedForSession)
      expect(existsSync(path.join(s.cwd, '.claude'))).toBe(false)
      // each search ran (Claude Code's WebSearch asks the model with its web_search tool)
      const ran = (query: string) =>
        mock.requests.filter((r) => mock.lastUserText(r).endsWith(`query: ${query}`))
      expect([ran(kept).length, ran(other).length]).toEqual([2, 1])
    } finally {
      await own.close()
      expect(await waitUntilGone(() => processesUnder(own.workspace))).toEqual([])
    }
  }, 240_000)

  // claude-agent-acp's own allow_always would write Claude Code's rule (here `WebSearch`) into the workspace's
  // .claude/settings.local.json: the gateway answers allow_once and accepts the same call again itself.
  it('acp:claude-agent-acp: a web search accepted for the session writes nothing into the workspace and is not asked again', async () => {
    const cwd = path.join(gw.workspace, 'searched')
    mkdirSync(cwd)
    const query = 'agent gateway approvals'
    const search = { kind: 'tool_use', name: 'WebSearch', input: { query } } as const
    const inputs = ['search once', 'search again']
    for (const input of inputs) mock.on(input, search, { kind: 'text', text: 'found' })
    const s = await session(gw, { agent: 'acp:claude-agent-acp', cwd })
    const first = await turnOf(gw, s, inputs[0]!)
    const approval = await pendingApprovalAt(gw.url, s.id)
    expect(approval).toMatchObject({ kind: 'permission', reason: `Search "${query}"` })
    await postJson(`${gw.url}/v1/approvals/${approval.id}`, { decision: 'accept_for_session' })
    expect((await finishedTurnAt(gw.url, s.id, first.id)).status).toBe('completed')
    expect(existsSync(path.join(cwd, '.claude'))).toBe(false)
    // asked again, it would wait for an answer
    const second = await turnOf(gw, s, inputs[1]!)
    expect((await finishedTurnAt(gw.url, s.id, second.id)).status).toBe('completed')
    const asked = (await (await fetch(`${gw.url}/v1/approvals?sessionId=${s.id}`)).json()) as {
      approvals: unknown[]
    }
    expect(asked.approvals).toHaveLength(1)
    expect(existsSync(path.join(cwd, '.claude'))).toBe(false)
    // the search ran on both turns (Claude Code's WebSearch asks the model with its web_search tool)
    const searched = mock.requests.filter((r) => mock.lastUserText(r).endsWith(`query: ${query}`))
    expect(searched).toHaveLength(2)
    // On the key proxy claude-agent-acp is authenticated at the proxy (proxy-authentication.ts): it started no
    // `claude auth status` for the session nor for either prompt (before: one for each, ~1 s of CPU each; the one of
    // its `initialize` is left, in its process's cwd: the data dir, the process being shared); neither it nor its
    // Claude Code holds the real key, which only the proxy put on its model requests; the token its Claude Code
    // sends is kept from its commands like the key.
    const here = claudeStartsIn(starts, cwd)
    expect(here.map((c) => c.kind)).not.toContain('auth-status')
    const claude = here.filter((c) => c.kind === 'claude')
    expect(claude.length).toBeGreaterThan(0)
    for (const c of here) expect(c.env + c.agentEnv).not.toContain('sk-ant-test')
    for (const { env } of claude) {
      expect(env).toMatch(/^ANTHROPIC_BASE_URL=http:\/\/127\.0\.0\.1:\d+\/anthropic$/m)
      expect(env).toMatch(/^ANTHROPIC_CUSTOM_HEADERS=x-api-key: agp-[A-Za-z0-9_-]{43}$/m)
      expect(env).toMatch(/^ANTHROPIC_API_KEY=$/m)
      expect(env).toMatch(/^AGW_SCRUB_ENV=.*\bANTHROPIC_CUSTOM_HEADERS\b/m)
    }
    for (const r of searched) expect(r.headers['x-api-key']).toBe('sk-ant-test')
  }, 120_000)

  // As the claude driver's (claude-approvals.test.ts): Claude Code's rule, `WebFetch(domain:<host>)`, would allow
  // every page of the host; the gateway keeps the exact URL, whatever the prompt it is fetched with.
  it("acp:claude-agent-acp: a WebFetch's accept_for_session allows that exact URL again, not its host's other pages; a declined fetch is declined", async () => {
    // (no domain check at api.anthropic.com before a fetch: the gateway's flag settings, CLAUDE_WEBFETCH_PREFLIGHT)
    // http is fetched as https by Claude Code: these fetches fail at once (the mock speaks http), which is enough
    const page = (name: string) => `http://127.0.0.1:${new URL(mock.url).port}/acp-${name}`
    const fetchOf = (url: string, prompt: string) =>
      ({ kind: 'tool_use', name: 'WebFetch', input: { url, prompt } }) as const
    mock.on('acp fetch page a', fetchOf(page('a'), 'summarize'), { kind: 'text', text: 'done' })
    mock.on('acp fetch a again, then b', fetchOf(page('a'), 'the title'), fetchOf(page('b'), 'summarize'), {
      kind: 'text',
      text: 'done',
    })
    const s = await session(gw, { agent: 'acp:claude-agent-acp' })
    const first = await turnOf(gw, s, 'acp fetch page a')
    const approval = await pendingApprovalAt(gw.url, s.id)
    expect(approval).toMatchObject({ kind: 'permission', turnId: first.id })
    await postJson(`${gw.url}/v1/approvals/${approval.id}`, { decision: 'accept_for_session' })
    expect((await finishedTurnAt(gw.url, s.id, first.id)).status).toBe('completed')
    const kept = (await (await fetch(`${gw.url}/v1/sessions/${s.id}`)).json()) as Session
    // before: the exact input, `gateway:WebFetch {"prompt":"summarize","url":…}`: the same URL asked again
    expect(kept.allowedForSession).toEqual([`gateway:WebFetch {"url":"${page('a')}"}`])
    expect(existsSync(path.join(s.cwd, '.claude'))).toBe(false)

    // the same URL with another prompt runs unasked; another page of the host is asked, and declined
    const second = await turnOf(gw, s, 'acp fetch a again, then b')
    const other = await pendingApprovalAt(gw.url, s.id)
    expect(other.turnId).toBe(second.id)
    expect(JSON.stringify(other)).toContain(page('b'))
    await postJson(`${gw.url}/v1/approvals/${other.id}`, { decision: 'decline' })
    expect((await finishedTurnAt(gw.url, s.id, second.id)).status).toBe('completed')
    const all = (await (await fetch(`${gw.url}/v1/approvals?sessionId=${s.id}`)).json()) as {
      approvals: unknown[]
    }
    expect(all.approvals).toHaveLength(2)
    const events = await sessionEventsUntilTurnEnd(gw.url, s.id, second.id)
    const started = events.findIndex((e) => e.type === 'turn.started' && e.turnId === second.id)
    const fetches = events
      .slice(started)
      .flatMap((e) => (e.type === 'item.completed' && e.item.type === 'tool_call' ? [e.item] : []))
    // the accepted fetch of a ran (and failed: http is fetched as https); the declined one of b is declined
    expect(fetches.map((item) => [item.arguments, item.status])).toEqual([
      [{ url: page('a'), prompt: 'the title' }, 'failed'],
      [{ url: page('b'), prompt: 'summarize' }, 'declined'],
    ])
  }, 120_000)

  for (const agent of ['acp:claude-agent-acp', 'acp:gemini', 'acp:copilot']) {
    const name = agent.slice(4)
    it(`${agent}: read-only with approvalPolicy never asks nobody and runs no command`, async () => {
      const file = `${name}-never.txt`
      mock.on(
        `try ${file}`,
        { kind: 'exec_command', cmd: `echo hi > ${file}` },
        { kind: 'text', text: 'refused' },
      )
      const s = await session(gw, { agent, sandbox: 'read-only', approvalPolicy: 'never' })
      const done = await finishedTurnAt(gw.url, s.id, (await turnOf(gw, s, `try ${file}`)).id)
      expect(done.status).toBe('completed')
      const asked = (await (await fetch(`${gw.url}/v1/approvals?sessionId=${s.id}`)).json()) as {
        approvals: unknown[]
      }
      expect(asked.approvals).toEqual([])
      expect(existsSync(path.join(s.cwd, file))).toBe(false)
    }, 120_000)
  }

  for (const agent of ['acp:gemini', 'acp:copilot']) {
    const name = agent.slice(4)
    it(`${agent}: a command it runs (workspace-write, never) sees no key`, async () => {
      const file = `${name}-env.txt`
      mock.on(
        `env ${file}`,
        { kind: 'exec_command', cmd: `env > ${file}` },
        { kind: 'text', text: 'printed' },
      )
      const s = await session(gw, { agent, sandbox: 'workspace-write', approvalPolicy: 'never' })
      const done = await finishedTurnAt(gw.url, s.id, (await turnOf(gw, s, `env ${file}`)).id)
      expect(done.status).toBe('completed')
      const env = readFileSync(path.join(s.cwd, file), 'utf8')
      expect(env).toMatch(/^PATH=\//m)
      for (const secret of [geminiKey, testApiKey, 'sk-ant-test', 'agp-']) expect(env).not.toContain(secret)
      for (const name of ['GEMINI_API_KEY', 'COPILOT_PROVIDER_API_KEY', 'ANTHROPIC_API_KEY', 'CODEX_API_KEY'])
        expect(env).not.toMatch(new RegExp(`^${name}=`, 'm'))
      // the key reached the model only through the key proxy: the agent held a token
      const keys = mock.requests.map((r) => r.headers['x-goog-api-key'] ?? r.headers.authorization)
      expect(keys).toContain(agent === 'acp:gemini' ? geminiKey : `Bearer ${testApiKey}`)
    }, 120_000)
  }
})
