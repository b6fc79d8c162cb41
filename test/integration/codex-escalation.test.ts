import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { CodexDriver } from '../../src/agents/codex/driver.js'
import { AppServerProcess } from '../../src/agents/codex-app-server/app-server-process.js'
import { onRequestHeld } from '../../src/agents/codex-app-server/held-sandbox.js'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import {
  gatewayModules,
  postJson,
  sessionEventsUntil,
  sessionEventsUntilTurnEnd,
  startGateway,
  succeededRun,
  type TestGateway,
} from '../support/gateway.js'
import { tempDir } from '../support/temp.js'

gatewayModules()

/**
 * codex lets the model ask to run a command without its sandbox (`sandbox_permissions: "require_escalated"`), and
 * its approval request looks like a sandboxed command's: accepted, the command ran with the gateway user's rights,
 * whatever the session's sandbox (before: the file below was written). A workspace-write session (the operator
 * allows no danger-full-access) must not run it unsandboxed, whoever answers; the session still says the policy it
 * was given.
 */
describe('codex: a command the model asks to run unsandboxed', () => {
  let mock: MockLlm
  let gw: TestGateway
  let outside: string
  let readableOutside: string
  const readableMark = 'read-outside-the-workspace-ok'
  beforeAll(async () => {
    mock = await startMockLlm()
    gw = await startGateway(mock)
    outside = tempDir('escalation-outside-')
    readableOutside = path.join(outside, 'readable.txt')
    writeFileSync(readableOutside, readableMark)
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
  })

  /** The model asks to run a command that writes `target` without the sandbox, then ends its turn. */
  const scriptEscalation = (target: string) =>
    mock.script(
      {
        kind: 'exec_command',
        cmd: `echo pwned > ${target}`,
        sandboxPermissions: 'require_escalated',
        justification: 'May I write the report?',
      },
      { kind: 'text', text: 'done' },
    )
  /** codex refused it itself, and told the model so. */
  const toldModel = (target: string) =>
    mock.requests
      .map((r) => JSON.stringify(r.body))
      .some((body) => body.includes(target) && body.includes('you cannot ask for escalated permissions'))

  /** The model was told its command writing `target` hit the sandbox's read-only file system. */
  const deniedToModel = (target: string) =>
    mock.requests
      .map((r) => JSON.stringify(r.body))
      .some((body) => body.includes(target) && body.includes('Read-only file system'))

  it.each([
    ['codex', 'on-request'],
    ['codex', 'on-failure'],
    // none named: the thread's own policy, held from the first turn (codex-acp: codex's default, on-request, held)
    ['codex', undefined],
    ['acp:codex-acp', 'on-request'],
    ['acp:codex-acp', undefined],
  ])('%s %s: accepted or not, it runs in the sandbox or not at all', async (agent, approvalPolicy) => {
    const target = path.join(outside, `${agent.replace(':', '-')}-${approvalPolicy ?? 'own'}.txt`)
    const created = await postJson(`${gw.url}/v1/sessions`, {
      agent,
      ...(approvalPolicy ? { approvalPolicy } : {}),
      sandbox: 'workspace-write',
    })
    expect(created.status).toBe(201)
    const session = (await created.json()) as Session
    scriptEscalation(target)
    const turn = (await (
      await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, { input: 'write the report' })
    ).json()) as Turn
    const ended = (ev: StoredEvent) =>
      (ev.type === 'turn.completed' || ev.type === 'turn.failed') && ev.turnId === turn.id
    const seen = await sessionEventsUntil(
      gw.url,
      session.id,
      (ev) => ev.type === 'approval.requested' || ended(ev),
    )
    // an approver who accepts whatever is asked (before: asked, and the accepted command wrote outside)
    const asked = seen.find((ev) => ev.type === 'approval.requested')
    if (asked)
      expect(
        (await postJson(`${gw.url}/v1/approvals/${asked.approvalId}`, { decision: 'accept' })).status,
      ).toBe(200)
    const events = await sessionEventsUntilTurnEnd(gw.url, session.id, turn.id)
    expect(events.find((ev) => ev.type === 'turn.completed' && ev.turnId === turn.id)).toBeDefined()
    expect(existsSync(target)).toBe(false)
    expect(asked).toBeUndefined()
    expect(toldModel(target)).toBe(true)
    // the session reports the policy it was given
    const now = (await (await fetch(`${gw.url}/v1/sessions/${session.id}`)).json()) as Session
    expect(now.approvalPolicy ?? undefined).toBe(approvalPolicy)
    // none named: codex's own, on-request, reported as codex said it (codex-acp reports none)
    if (!approvalPolicy && agent === 'codex') expect(now.agentApprovalPolicy).toBe('on-request')
  })

  // codex keeps the policy a turn/start gives it for the thread's next turns: the held on-request goes with the
  // thread's first turn/start and again only after a turn ran with another one (before: with every turn/start, each
  // turn paying codex's change of its turn settings). A later turn that names none still refuses the escalation.
  it('codex on-request, later turns: the held policy is given once, and still refuses the escalation', async () => {
    const target = path.join(outside, 'codex-on-request-later-turn.txt')
    const created = await postJson(`${gw.url}/v1/sessions`, {
      agent: 'codex',
      approvalPolicy: 'on-request',
      sandbox: 'workspace-write',
    })
    expect(created.status).toBe(201)
    const session = (await created.json()) as Session
    const turnOf = async (body: Record<string, unknown>) => {
      const res = await postJson(`${gw.url}/v1/sessions/${session.id}/turns?wait=true`, body)
      expect(res.status).toBe(200)
      return (await res.json()) as Turn
    }
    const toCodex = vi.spyOn(AppServerProcess.prototype, 'send')
    let given: unknown[]
    try {
      mock.script({ kind: 'text', text: 'first' })
      expect(await turnOf({ input: 'first' })).toMatchObject({ status: 'completed' })
      const { asked } = await turnAcceptingAll(
        gw,
        mock,
        session.id,
        {
          kind: 'exec_command',
          cmd: `echo pwned > ${target}`,
          sandboxPermissions: 'require_escalated',
          justification: 'May I write the report?',
        },
        { kind: 'text', text: 'done' },
      )
      expect(asked).toEqual([])
      mock.script({ kind: 'text', text: 'third' })
      expect(await turnOf({ input: 'third', approvalPolicy: 'never' })).toMatchObject({ status: 'completed' })
      mock.script({ kind: 'text', text: 'fourth' })
      expect(await turnOf({ input: 'fourth' })).toMatchObject({ status: 'completed' })
      // (restoring a spy clears what it recorded)
      given = toCodex.mock.calls
        .map(([method, params]) => ({
          method,
          params: params as { threadId?: string; approvalPolicy?: unknown },
        }))
        .filter(({ method, params }) => method === 'turn/start' && params.threadId === session.agentSessionId)
        .map(({ params }) => params.approvalPolicy)
    } finally {
      toCodex.mockRestore()
    }
    expect(given).toEqual([onRequestHeld, undefined, 'never', onRequestHeld])
    // the second turn, sent without a policy, ran with the held one: codex refused the escalation itself
    expect(existsSync(target)).toBe(false)
    expect(toldModel(target)).toBe(true)
  })

  // `untrusted` asks about every command that is not known-safe, and codex 0.171 asks an escalation too, with the
  // same request: accepted, it ran unsandboxed (before: the file below was written). The gateway sees the model's
  // call (escalated-calls.ts) and declines it itself; codex-acp's codex refuses it under `untrusted`.
  describe.each(['codex', 'acp:codex-acp'])('%s untrusted', (agent) => {
    const name = agent.replace(':', '-')
    it('an escalation is not run outside the sandbox, whoever answers', async () => {
      const target = path.join(outside, `${name}-untrusted-escalated.txt`)
      const { asked, events } = await untrustedTurnAcceptingAll(
        gw,
        mock,
        agent,
        'workspace-write',
        {
          kind: 'exec_command',
          cmd: `echo pwned > ${target}`,
          sandboxPermissions: 'require_escalated',
          justification: 'May I write the report?',
        },
        { kind: 'text', text: 'done' },
      )
      expect(existsSync(target)).toBe(false)
      expect(asked).toEqual([])
      if (agent === 'codex')
        expect(
          events.some(
            (ev) =>
              ev.type === 'item.completed' &&
              ev.item.type === 'error' &&
              ev.item.message.includes('outside the sandbox: declined by agent-gateway'),
          ),
        ).toBe(true)
      else expect(toldModel(target)).toBe(true)
    })

    it('a command that is not known-safe is asked, and accepted runs in the workspace', async () => {
      const target = path.join(gw.workspace, `${name}-untrusted-inside.txt`)
      const { asked } = await untrustedTurnAcceptingAll(
        gw,
        mock,
        agent,
        'workspace-write',
        { kind: 'exec_command', cmd: `echo report > ${target}` },
        { kind: 'text', text: 'done' },
      )
      expect(asked.map((ev) => ev.type === 'approval.requested' && ev.command)).toEqual([
        expect.stringContaining(target),
      ])
      expect(readFileSync(target, 'utf8')).toBe('report\n')
    })
  })

  // codex sends a thread's raw response items only when thread/start asked for them: a thread resumed in a new
  // app-server (after a gateway restart, a takeover, an app-server that died) sends none, and its escalation was
  // asked with a warning; accepted, it ran unsandboxed (before: the file below was written). The gateway finds the
  // model's call in the thread's rollout file (rollout-calls.ts) and declines it.
  it('codex untrusted, a thread resumed in a new app-server: the escalation is not run outside the sandbox', async () => {
    const target = path.join(outside, 'codex-untrusted-resumed-escalated.txt')
    const session = await untrustedSession(gw, 'codex', 'workspace-write')
    await turnAcceptingAll(gw, mock, session.id, { kind: 'text', text: 'first answer' })
    // the app-server dies between turns: the next turn resumes the thread in a new one
    await killAppServer()
    const { asked, events } = await turnAcceptingAll(
      gw,
      mock,
      session.id,
      {
        kind: 'exec_command',
        cmd: `echo pwned > ${target}`,
        sandboxPermissions: 'require_escalated',
        justification: 'May I write the report?',
      },
      { kind: 'text', text: 'done' },
    )
    expect(existsSync(target)).toBe(false)
    expect(asked).toEqual([])
    expect(
      events.some(
        (ev) =>
          ev.type === 'item.completed' &&
          ev.item.type === 'error' &&
          ev.item.message.includes('outside the sandbox: declined by agent-gateway'),
      ),
    ).toBe(true)
    // an ordinary command of the resumed thread is still asked, and accepted runs in the workspace
    const inside = path.join(gw.workspace, 'codex-untrusted-resumed-inside.txt')
    const ordinary = await turnAcceptingAll(
      gw,
      mock,
      session.id,
      { kind: 'exec_command', cmd: `echo report > ${inside}` },
      { kind: 'text', text: 'done' },
    )
    expect(ordinary.asked.length).toBe(1)
    expect(readFileSync(inside, 'utf8')).toBe('report\n')
    // resumed with its profile (thread-settings.ts): an accepted command its sandbox denied is not run again
    const denied = path.join(outside, 'codex-untrusted-resumed-retried.txt')
    await turnAcceptingAll(
      gw,
      mock,
      session.id,
      { kind: 'exec_command', cmd: `echo pwned > ${denied}`, shell: '/bin/sh', login: false },
      { kind: 'text', text: 'done' },
    )
    expect(existsSync(denied)).toBe(false)
    expect(deniedToModel(denied)).toBe(true)
  })

  /** Kills the shared codex app-server, and resolves once the driver saw it gone. */
  const killAppServer = async () => {
    const driver = gw.ctx.registry.get('codex') as CodexDriver
    const exited = new Promise<void>((resolve) => {
      const off = driver.onAppServerExit(() => {
        off()
        resolve()
      })
    })
    process.kill(driver.appServerPid!, 'SIGKILL')
    await exited
  }

  // codex retries a command its sandbox denied without the sandbox, unasked, once the client accepted it under
  // `untrusted` ("retry without sandbox"): codex-acp's `shell_command` (whose denial is always judged) wrote
  // outside the workspace (before: the file below was written). The session's profile denies a read
  // (read-profiles.ts sessionProfiles), and codex runs no retry of such a profile outside its sandbox; reads are
  // not confined (CODEX_CONFINE_READS off): a file outside the workspace is read as before.
  it('acp:codex-acp untrusted: an accepted command its sandbox denied is not run again without it', async () => {
    const target = path.join(outside, 'codex-acp-untrusted-retried.txt')
    const { asked } = await untrustedTurnAcceptingAll(
      gw,
      mock,
      'acp:codex-acp',
      'workspace-write',
      { kind: 'exec_command', cmd: `cat ${readableOutside}`, tool: 'shell_command' },
      { kind: 'exec_command', cmd: `echo pwned > ${target}`, tool: 'shell_command' },
      { kind: 'text', text: 'done' },
    )
    expect(existsSync(target)).toBe(false)
    // the write was asked (and accepted), once
    expect(
      asked.filter((ev) => ev.type === 'approval.requested' && ev.command?.includes(target)).length,
    ).toBe(1)
    // the sandbox denied it, and codex told the model so; the file outside the workspace was read
    expect(deniedToModel(target)).toBe(true)
    expect(mock.requests.some((r) => JSON.stringify(r.body).includes(readableMark))).toBe(true)
  })

  // codex app-server (0.171) runs a command the client accepted under `untrusted` again without its sandbox,
  // unasked, when the sandbox denied it ("retry without sandbox"): `exec_command` judges a denial inside that
  // retry only when the command ended within 150 ms of its start, which a shell without codex's snapshot
  // (`shell`, `login: false`) does on an idle host (before: the files below were written, 4 of 7 under the bench
  // lock). The thread's profile denies a read (read-profiles.ts sessionProfiles), and codex runs no retry of such
  // a profile outside its sandbox.
  it.each([
    ['workspace-write', () => outside],
    ['read-only', () => gw.workspace],
  ] as const)(
    'codex untrusted %s: an accepted command its sandbox denied is not run again without it',
    async (sandbox, dir) => {
      const targets = [1, 2].map((i) => path.join(dir(), `codex-untrusted-retried-${sandbox}-${i}.txt`))
      const { asked } = await untrustedTurnAcceptingAll(
        gw,
        mock,
        'codex',
        sandbox,
        ...targets.map((target) => ({
          kind: 'exec_command' as const,
          cmd: `echo pwned > ${target}`,
          shell: '/bin/sh',
          login: false,
        })),
        { kind: 'text', text: 'done' },
      )
      for (const target of targets) expect(existsSync(target)).toBe(false)
      expect(asked.length).toBe(targets.length)
      // the sandbox denied each, and codex told the model so (a retry answers exit 0, no output)
      for (const target of targets) expect(deniedToModel(target)).toBe(true)
    },
  )

  // Only an `untrusted` thread runs the profile (thread-settings.ts): a session of another policy whose turn names
  // `untrusted` is reopened with it before that turn (codex-session.ts `profiledFor`; turn/start takes no profile).
  // Before (main): the files below were written.
  // The thread loaded (let go of and resumed with the profile), the app-server killed after the session's first
  // turn (resumed in a new one with it), or a thread that ran no turn (no rollout to resume: replaced by a new one
  // with the profile).
  it.each(['loaded', 'in a new app-server', 'without a turn yet'])(
    'codex on-request, a turn that runs untrusted, the thread %s: an accepted command its sandbox denied is not run again without it',
    async (where) => {
      const created = await postJson(`${gw.url}/v1/sessions`, {
        agent: 'codex',
        approvalPolicy: 'on-request',
        sandbox: 'workspace-write',
      })
      expect(created.status).toBe(201)
      const session = (await created.json()) as Session
      if (where !== 'without a turn yet')
        await turnAcceptingAll(gw, mock, session.id, { kind: 'text', text: 'first answer' })
      if (where === 'in a new app-server') await killAppServer()
      const targets = [1, 2].map((i) =>
        path.join(outside, `codex-turn-untrusted-retried-${where.replaceAll(' ', '-')}-${i}.txt`),
      )
      const { asked, events } = await turnWithAcceptingAll(
        gw,
        mock,
        session.id,
        { approvalPolicy: 'untrusted' },
        ...targets.map((target) => ({
          kind: 'exec_command' as const,
          cmd: `echo pwned > ${target}`,
          shell: '/bin/sh',
          login: false,
        })),
        { kind: 'text', text: 'done' },
      )
      for (const target of targets) expect(existsSync(target)).toBe(false)
      expect(asked.length).toBe(targets.length)
      for (const target of targets) expect(deniedToModel(target)).toBe(true)
      // the thread's unload for its reopening is not the turn's news
      expect(events.some((ev) => JSON.stringify(ev).includes('thread/closed'))).toBe(false)
      // the session's next turn (its own policy again) runs on
      const { events: next } = await turnAcceptingAll(gw, mock, session.id, { kind: 'text', text: 'after' })
      expect(next.some((ev) => ev.type === 'turn.completed')).toBe(true)
      // a thread that ran no turn has no rollout to resume: the session went on in a new thread, stored
      const now = (await (await fetch(`${gw.url}/v1/sessions/${session.id}`)).json()) as Session
      if (where === 'without a turn yet') expect(now.agentSessionId).not.toBe(session.agentSessionId)
      else expect(now.agentSessionId).toBe(session.agentSessionId)
    },
  )

  it('codex exec: a run (approval never) refuses it', async () => {
    const target = path.join(outside, 'codex-exec.txt')
    scriptEscalation(target)
    await succeededRun(gw.url, {
      agent: 'codex-exec',
      prompt: 'write the report',
      sandbox: 'workspace-write',
    })
    expect(existsSync(target)).toBe(false)
    expect(toldModel(target)).toBe(true)
  })
})

/**
 * codex retries a command its sandbox denied without the sandbox, unasked, when the client accepted it under
 * `untrusted` ("retry without sandbox"): a read-only session's accepted write into its workspace was written. With
 * reads confined (CODEX_CONFINE_READS) the gateway's profiles deny a read, and codex never runs a command of such a
 * profile outside its sandbox. codex-acp's codex runs `shell_command` (its whole output is read before the denial
 * is judged, so the retry is certain; codex 0.171's `exec_command` judges a denial only when the command ended
 * within milliseconds, and it runs no `shell_command`).
 */
describe('codex-acp untrusted, reads confined: a command its sandbox denied', () => {
  let mock: MockLlm
  let gw: TestGateway
  beforeAll(async () => {
    mock = await startMockLlm()
    gw = await startGateway(mock, { CODEX_CONFINE_READS: 'true' })
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
  })

  it('accepted, it is not run again without the sandbox', async () => {
    const target = path.join(gw.workspace, 'codex-acp-untrusted-retried.txt')
    const { asked } = await untrustedTurnAcceptingAll(
      gw,
      mock,
      'acp:codex-acp',
      'read-only',
      { kind: 'exec_command', cmd: `echo pwned > ${target}`, tool: 'shell_command' },
      { kind: 'text', text: 'done' },
    )
    expect(asked.length).toBe(1)
    // before: retried unsandboxed, exit 0, the file written
    expect(existsSync(target)).toBe(false)
    // the sandbox denied it, and codex told the model so
    expect(mock.requests.some((r) => JSON.stringify(r.body).includes('Read-only file system'))).toBe(true)
  })
})

/** An `untrusted` session of `agent` whose one turn runs the mock's `steps`; an approver accepts everything asked. */
async function untrustedTurnAcceptingAll(
  gw: TestGateway,
  mock: MockLlm,
  agent: string,
  sandbox: 'read-only' | 'workspace-write',
  ...steps: Parameters<MockLlm['script']>
) {
  return turnAcceptingAll(gw, mock, (await untrustedSession(gw, agent, sandbox)).id, ...steps)
}

async function untrustedSession(gw: TestGateway, agent: string, sandbox: 'read-only' | 'workspace-write') {
  const created = await postJson(`${gw.url}/v1/sessions`, { agent, approvalPolicy: 'untrusted', sandbox })
  expect(created.status).toBe(201)
  return (await created.json()) as Session
}

/** A turn of session `sessionId` that runs the mock's `steps`; an approver accepts everything the turn asks. */
function turnAcceptingAll(
  gw: TestGateway,
  mock: MockLlm,
  sessionId: string,
  ...steps: Parameters<MockLlm['script']>
) {
  return turnWithAcceptingAll(gw, mock, sessionId, {}, ...steps)
}

/** turnAcceptingAll, the turn posted with `options` (its approvalPolicy). */
async function turnWithAcceptingAll(
  gw: TestGateway,
  mock: MockLlm,
  sessionId: string,
  options: Record<string, unknown>,
  ...steps: Parameters<MockLlm['script']>
) {
  mock.script(...steps)
  const turn = (await (
    await postJson(`${gw.url}/v1/sessions/${sessionId}/turns`, { input: 'write the report', ...options })
  ).json()) as Turn
  const answers: Promise<Response>[] = []
  const asked: StoredEvent[] = []
  let started = false
  const events = await sessionEventsUntil(gw.url, sessionId, (ev) => {
    // the session's events from its start: this turn's are those after its turn.started
    if (ev.type === 'turn.started' && ev.turnId === turn.id) started = true
    if (started && ev.type === 'approval.requested') {
      asked.push(ev)
      answers.push(postJson(`${gw.url}/v1/approvals/${ev.approvalId}`, { decision: 'accept' }))
    }
    return (ev.type === 'turn.completed' || ev.type === 'turn.failed') && ev.turnId === turn.id
  })
  for (const answer of await Promise.all(answers)) expect(answer.status).toBe(200)
  expect(events.find((ev) => ev.type === 'turn.completed' && ev.turnId === turn.id)).toBeDefined()
  return { events, asked }
}
