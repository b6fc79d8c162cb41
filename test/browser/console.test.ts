import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { held, type MockLlm, startMockLlm } from '../mock-llm/index.js'
import {
  ensureConsoleBuilt,
  keyboardProblems,
  launchChromium,
  phoneLayoutProblems,
  screenshot,
  seriousA11yViolations,
} from '../support/browser.js'
import { startCuttingProxy } from '../support/cutting-proxy.js'
import { mockAgentSettings, postJson, startGateway, type TestGateway } from '../support/gateway.js'

/** Waits for what the page shows (the page updates from events; nothing here sleeps). */
const poll = <T>(read: () => Promise<T> | T) => expect.poll(read, { timeout: 30_000, interval: 100 })

/** The console built and one Chromium for the file: each block opens contexts of its own in it. */
let chromium: Browser
beforeAll(async () => {
  ensureConsoleBuilt()
  chromium = await launchChromium()
}, 60_000)
afterAll(async () => {
  await chromium?.close()
})

/** A mock model and a gateway with `settings` for a describe block, and the file's Chromium; closed after it. */
function consoleFixture(settings: Record<string, string> | ((mock: MockLlm) => Record<string, string>)) {
  const shared = {} as { mock: MockLlm; gw: TestGateway; browser: Browser }
  beforeAll(async () => {
    shared.mock = await startMockLlm()
    shared.gw = await startGateway(
      shared.mock,
      typeof settings === 'function' ? settings(shared.mock) : settings,
    )
    shared.browser = chromium
  }, 60_000)
  afterAll(async () => {
    await shared.gw?.close()
    await shared.mock?.close()
  })
  return shared
}

/** The web console in real Chromium, against the real server running the real codex and the mock model. */
describe('web console', { timeout: 120_000 }, () => {
  const shared = consoleFixture({ AGENTS: 'codex', APPROVAL_TIMEOUT_SECONDS: '60' })
  const contexts: BrowserContext[] = []
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close()
    shared.mock.reset()
  })

  async function open(hash = '', viewport = { width: 1100, height: 900 }): Promise<Page> {
    const context = await shared.browser.newContext({ viewport })
    contexts.push(context)
    const page = await context.newPage()
    await page.goto(`${shared.gw.url}/${hash}`)
    return page
  }
  const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T

  it('compose and stream a run: the answer as Markdown and the command with its exit code', async () => {
    shared.mock.on(
      'count the files',
      { kind: 'exec_command', cmd: 'echo console-says-hi' },
      { kind: 'text', text: 'The answer is **forty-two**.' },
    )
    const page = await open()
    await page.getByLabel('Prompt').fill('please count the files')
    await page.getByLabel('Sandbox').selectOption('workspace-write')
    await screenshot(page, 'compose')
    await page.getByRole('button', { name: 'Stream' }).click()
    await page.waitForURL(/#\/runs\/run_/)
    const command = page.getByTestId('command')
    await poll(() => command.textContent()).toContain('echo console-says-hi')
    await poll(() => command.textContent()).toContain('exit 0')
    await poll(() => command.locator('pre.output').textContent()).toContain('console-says-hi')
    const message = page.getByTestId('agent-message')
    await poll(() => message.textContent()).toContain('The answer is forty-two.')
    expect(await message.locator('strong').textContent()).toBe('forty-two')
    await poll(() => page.getByTestId('run-status').textContent()).toBe('succeeded')
    await screenshot(page, 'run')
  })

  it('reloading mid-run loses nothing and doubles nothing', async () => {
    // the second command waits for a file the test writes once the page has reloaded: the reload is mid-run
    shared.mock.on(
      'slow work',
      { kind: 'exec_command', cmd: 'echo before-reload' },
      {
        kind: 'exec_command',
        cmd: 'until [ -e reloaded ]; do sleep 0.05; done; echo after-reload',
        yieldTimeMs: 30_000,
      },
      { kind: 'text', text: 'all done after the reload' },
    )
    const page = await open()
    await page.getByLabel('Prompt').fill('do the slow work')
    await page.getByLabel('Sandbox').selectOption('workspace-write')
    await page.getByRole('button', { name: 'Stream' }).click()
    await page.waitForURL(/#\/runs\/run_/)
    const runId = decodeURIComponent(page.url().split('/').at(-1)!)
    await poll(() => page.getByTestId('command').first().textContent()).toContain('before-reload')
    const run = await json<{ status: string; request: { cwd: string } }>(
      fetch(`${shared.gw.url}/v1/runs/${runId}`),
    )
    expect(run.status).toBe('running')
    await page.reload()
    await page.locator('[data-loaded]').waitFor()
    writeFileSync(path.join(run.request.cwd, 'reloaded'), '')
    await poll(() => page.getByTestId('agent-message').textContent()).toContain('all done after the reload')
    await page.getByLabel('Raw events').check()
    const shown = await page
      .locator('[data-raw-seq]')
      .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-raw-seq'))))
    const stored = (
      await (
        await fetch(`${shared.gw.url}/v1/runs/${runId}/events`, {
          headers: { accept: 'application/x-ndjson' },
        })
      ).text()
    )
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as StoredEvent).seq)
    expect(shown).toEqual(stored)
    expect(new Set(shown).size).toBe(shown.length)
  })

  it("a session's command output shows while the command runs: its first line before it ends, then both", async () => {
    const session = await json<Session>(
      postJson(`${shared.gw.url}/v1/sessions`, { approvalPolicy: 'never', sandbox: 'workspace-write' }),
    )
    // The command prints a line when the test creates a file, waits for a second file, then prints another:
    // it cannot end before the test saw its first line on the page.
    const waitFor = (file: string) => `until [ -e ${file} ]; do sleep 0.05; done`
    shared.mock.on(
      'stream two lines',
      {
        kind: 'exec_command',
        cmd: `${waitFor('print-first')}; echo first-streamed-line; ${waitFor('print-second')}; echo second-streamed-line`,
        yieldTimeMs: 30_000,
      },
      { kind: 'text', text: 'printed both lines' },
    )
    const page = await open(`#/sessions/${session.id}`)
    await page.locator('[data-loaded]').waitFor()
    await postJson(`${shared.gw.url}/v1/sessions/${session.id}/turns`, { input: 'stream two lines please' })
    const command = page.getByTestId('command')
    const output = command.locator('pre.output')
    // the command runs (item.started shown) before it prints anything
    await poll(() => command.textContent()).toContain('in_progress')
    writeFileSync(path.join(session.cwd, 'print-first'), '')
    await poll(() => output.textContent()).toContain('first-streamed-line')
    expect(await command.textContent()).toContain('in_progress')
    expect(await output.textContent()).not.toContain('second-streamed-line')
    await screenshot(page, 'command-streaming')
    writeFileSync(path.join(session.cwd, 'print-second'), '')
    await poll(() => command.textContent()).toContain('exit 0')
    expect(await output.textContent()).toBe('first-streamed-line\nsecond-streamed-line\n')
    await poll(() => page.getByTestId('agent-message').textContent()).toContain('printed both lines')
  })

  it('a connection dropped while a command streams: the console resumes (Last-Event-ID), its output neither doubled nor short', async () => {
    const proxy = await startCuttingProxy(shared.gw.url)
    try {
      const session = await json<Session>(
        postJson(`${shared.gw.url}/v1/sessions`, { approvalPolicy: 'never', sandbox: 'workspace-write' }),
      )
      const waitFor = (file: string) => `until [ -e ${file} ]; do sleep 0.05; done`
      shared.mock.on(
        'three lines across a drop',
        {
          kind: 'exec_command',
          cmd: `${waitFor('one')}; echo line-one; ${waitFor('two')}; echo line-two; ${waitFor('three')}; echo line-three`,
          yieldTimeMs: 30_000,
        },
        { kind: 'text', text: 'printed three lines' },
      )
      const context = await shared.browser.newContext()
      contexts.push(context)
      const page = await context.newPage()
      const resumedAfter: string[] = []
      page.on('request', (r) => {
        const lastId = r.headers()['last-event-id']
        if (r.url().includes(`/v1/sessions/${session.id}/events`) && lastId) resumedAfter.push(lastId)
      })
      await page.goto(`${proxy.url}/#/sessions/${session.id}`)
      await page.locator('[data-loaded]').waitFor()
      await postJson(`${shared.gw.url}/v1/sessions/${session.id}/turns`, {
        input: 'three lines across a drop please',
      })
      const command = page.getByTestId('command')
      const output = command.locator('pre.output')
      await poll(() => command.textContent()).toContain('in_progress')
      writeFileSync(path.join(session.cwd, 'one'), '')
      await poll(() => output.textContent()).toContain('line-one')
      proxy.cut()
      writeFileSync(path.join(session.cwd, 'two'), '')
      await poll(() => output.textContent()).toContain('line-two')
      expect(resumedAfter.length).toBeGreaterThan(0)
      // still running (it waits for the third file): what shows is the deltas folded, each once
      expect(await command.textContent()).toContain('in_progress')
      expect(await output.textContent()).toBe('line-one\nline-two\n')
      writeFileSync(path.join(session.cwd, 'three'), '')
      await poll(() => command.textContent()).toContain('exit 0')
      expect(await output.textContent()).toBe('line-one\nline-two\nline-three\n')
      // a drop while nothing happens: once reconnected the page says it is live again (no event needed)
      const streamState = page.getByTestId('stream-state')
      await poll(() => page.getByTestId('session-status').textContent()).toBe('idle')
      await poll(() => streamState.textContent()).toBe('live')
      const connections = resumedAfter.length
      proxy.cut()
      // (it says `reconnecting` for the second before it reconnects: too short to wait for reliably)
      await poll(() => resumedAfter.length).toBeGreaterThan(connections)
      await poll(() => streamState.textContent()).toBe('live')
    } finally {
      await proxy.close()
    }
  })

  it('a gateway restarting behind a proxy (502, then a stream ended without anything new): the session is followed again', async () => {
    const session = await json<Session>(postJson(`${shared.gw.url}/v1/sessions`, { approvalPolicy: 'never' }))
    shared.mock.on('after the restart', { kind: 'text', text: 'answered after the restart' })
    const context = await shared.browser.newContext()
    contexts.push(context)
    const page = await context.newPage()
    // The first connection gets what a proxy answers while the gateway is down; the second ends at once,
    // cleanly and empty: what a page that saw every event gets from a gateway that stops
    // (stop-ends-streams.test.ts). The next ones reach the gateway.
    const eventsUrl = `${shared.gw.url}/v1/sessions/${session.id}/events`
    const answers = [
      { status: 502, contentType: 'text/html', body: '<h1>502 Bad Gateway</h1>' },
      { status: 200, contentType: 'text/event-stream', body: '' },
    ]
    let connections = 0
    page.on('request', (r) => {
      if (r.url() === eventsUrl) connections++
    })
    await page.route(eventsUrl, (route) => route.fulfill(answers.shift()!), { times: answers.length })
    await page.goto(`${shared.gw.url}/#/sessions/${session.id}`)
    await page.locator('[data-loaded]').waitFor()
    await poll(() => connections).toBe(3)
    await poll(() => page.getByTestId('stream-state').textContent()).toBe('live')
    await postJson(`${shared.gw.url}/v1/sessions/${session.id}/turns`, { input: 'after the restart please' })
    await poll(() => page.getByTestId('agent-message').textContent()).toContain('answered after the restart')
  })

  it("a session stream the gateway refuses says why (not only 'error')", async () => {
    const session = await json<Session>(postJson(`${shared.gw.url}/v1/sessions`, { approvalPolicy: 'never' }))
    const page = await open()
    await page.route(`${shared.gw.url}/v1/sessions/${session.id}/events`, (route) =>
      route.fulfill({
        status: 403,
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'forbidden', message: 'this token may not read it' } }),
      }),
    )
    await page.goto(`${shared.gw.url}/#/sessions/${session.id}`)
    await poll(() => page.getByTestId('stream-state').textContent()).toBe('error')
    expect(await page.getByRole('alert').textContent()).toBe('403: this token may not read it')
  })

  it('interrupt a turn whose message has no text yet (no empty box stays), then fork the session: the fork shows the history it holds, and goes on', async () => {
    const session = await json<Session>(postJson(`${shared.gw.url}/v1/sessions`, { approvalPolicy: 'never' }))
    // the message starts (codex tells it when its first part comes), its text three seconds later: the turn is
    // interrupted before it
    shared.mock.on('interrupt me', { kind: 'text', text: 'never shown', deltas: true, chunkDelayMs: 3000 })
    shared.mock.on('go on in the fork', { kind: 'text', text: 'the fork answers' })
    const page = await open(`#/sessions/${session.id}`)
    await page.getByLabel('Message').fill('interrupt me now')
    await page.getByLabel('Message').press('Control+Enter')
    // the session's events until the message started (an item with no text yet)
    const stream = await fetch(`${shared.gw.url}/v1/sessions/${session.id}/events`, {
      headers: { accept: 'application/x-ndjson' },
    })
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader()
    for (let seen = ''; !seen.includes('"type":"agent_message"'); ) seen += (await reader.read()).value
    await reader.cancel()
    await page.getByRole('button', { name: 'Interrupt' }).click()
    const turn = page.locator('.turn').first()
    await poll(() => turn.textContent()).toContain('interrupted')
    await poll(() => turn.locator('.ev-turn-completed').count()).toBe(1)
    expect(await turn.locator('.item-agent_message').count()).toBe(0)

    await page.getByRole('button', { name: 'Fork' }).click()
    await page.waitForURL((url) => !url.hash.endsWith(session.id))
    const forkId = decodeURIComponent(page.url().split('/').at(-1)!)
    // the Fork button went with the parent's view: the fork's heading has the focus, not the page's top
    await poll(() => page.evaluate('document.activeElement.id')).toBe('session-title')
    // The fork's own events start after its fork point: the turn it holds is read from the parent (up to the
    // fork point's seq), shown before a marker with a link to the parent; its own turns come after.
    const showsHistory = async (view: Page) => {
      const point = view.getByTestId('fork-point')
      await poll(() => point.getAttribute('data-state')).toBe('done')
      expect(await point.textContent()).toBe(
        `Forked from ${session.id} at turn 1: the turns after this are the fork's own.`,
      )
      expect(await point.getByRole('link', { name: session.id }).getAttribute('href')).toBe(
        `#/sessions/${session.id}`,
      )
      const inherited = view.locator('.turn.inherited')
      expect(await inherited.count()).toBe(1)
      expect(await inherited.locator('.user-input').textContent()).toContain('interrupt me now')
      expect(await inherited.locator('.ev-turn-completed').textContent()).toContain('interrupted')
    }
    await showsHistory(page)
    expect(await page.getByTestId('session-approvals').count()).toBe(1)
    await page.getByLabel('Message').fill('go on in the fork')
    await page.getByRole('button', { name: 'Send' }).click()
    await poll(() => page.getByTestId('agent-message').textContent()).toContain('the fork answers')
    const own = page.locator('.turn:not(.inherited)')
    expect(await own.count()).toBe(1)
    expect(await own.locator('.user-input').textContent()).toMatch(/^Turn 2 · /)
    // opened afresh (nothing of the parent seen in this tab): the same, from the gateway
    const fresh = await open(`#/sessions/${forkId}`)
    await showsHistory(fresh)
    await poll(() => fresh.locator('.turn:not(.inherited)').textContent()).toContain('the fork answers')
    expect(await seriousA11yViolations(fresh)).toEqual([])
  })

  it("a fork made while its parent's turn runs holds that turn up to the fork point, as codex does: what had completed, a running command aborted, nothing after", async () => {
    const session = await json<Session>(
      postJson(`${shared.gw.url}/v1/sessions`, { approvalPolicy: 'never', sandbox: 'workspace-write' }),
    )
    shared.mock.on('before the running turn', { kind: 'text', text: 'the first answer' })
    await postJson(`${shared.gw.url}/v1/sessions/${session.id}/turns?wait=true`, {
      input: 'before the running turn',
    })
    // the second command prints a line, then waits for a file the test writes once the fork is made
    shared.mock.on(
      'cut me at the fork',
      { kind: 'exec_command', cmd: 'echo done-before-fork' },
      {
        kind: 'exec_command',
        cmd: 'echo printed-before-fork; until [ -e go ]; do sleep 0.05; done; echo printed-after-fork',
        yieldTimeMs: 30_000,
      },
      { kind: 'text', text: 'answered after the fork point' },
    )
    shared.mock.on('go on in the cut fork', { kind: 'text', text: 'the cut fork answers' })
    const page = await open(`#/sessions/${session.id}`)
    await page.locator('[data-loaded]').waitFor()
    const running = await json<Turn>(
      postJson(`${shared.gw.url}/v1/sessions/${session.id}/turns`, { input: 'cut me at the fork' }),
    )
    const commands = page.locator('.turn').nth(1).getByTestId('command')
    await poll(() => commands.nth(1).locator('pre.output').textContent()).toContain('printed-before-fork')
    expect(await commands.nth(0).textContent()).toContain('exit 0')
    await page.getByRole('button', { name: 'Fork' }).click()
    await page.waitForURL((url) => !url.hash.endsWith(session.id))
    const forkId = decodeURIComponent(page.url().split('/').at(-1)!)
    writeFileSync(path.join(session.cwd, 'go'), '')
    const showsCut = async (view: Page) => {
      const point = view.getByTestId('fork-point')
      await poll(() => point.getAttribute('data-state')).toBe('done')
      expect(await point.textContent()).toBe(
        `Forked from ${session.id} during turn 2, which it holds up to there: the turns after this are the fork's own.`,
      )
      const inherited = view.locator('.turn.inherited')
      expect(await inherited.count()).toBe(2)
      const cut = inherited.nth(1)
      expect(await cut.getByTestId('cut-turn').textContent()).toBe('interrupted at the fork point')
      expect(await cut.locator('.user-input').first().textContent()).toContain('cut me at the fork')
      const held = cut.getByTestId('command')
      expect(await held.count()).toBe(2)
      // done before the fork point: as it ran; running then: held as called, aborted, without what it printed
      expect(await held.nth(0).textContent()).toContain('exit 0')
      expect(await held.nth(0).locator('pre.output').textContent()).toBe('done-before-fork\n')
      expect(await held.nth(1).locator('.status').textContent()).toBe('aborted')
      expect(await held.nth(1).locator('pre.output').count()).toBe(0)
      expect(await cut.textContent()).not.toContain('answered after the fork point')
      expect(await cut.locator('.ev-turn-completed').count()).toBe(0)
    }
    await showsCut(page)
    // the parent went on past the fork point; the fork's view (read afresh from the gateway) does not follow it
    expect((await waitForTurn(session.id, running.id)).status).toBe('completed')
    const fresh = await open(`#/sessions/${forkId}`, { width: 390, height: 844 })
    await showsCut(fresh)
    expect(await phoneLayoutProblems(fresh)).toEqual([])
    expect(await keyboardProblems(fresh)).toEqual([])
    // what the fork's agent holds is what the view shows: its next model request has it, and nothing after
    await fresh.getByLabel('Message').fill('go on in the cut fork')
    await fresh.getByRole('button', { name: 'Send' }).click()
    await poll(() => fresh.locator('.turn:not(.inherited)').textContent()).toContain('the cut fork answers')
    const asked = shared.mock.requests
      .map((r) => (r.body as { input?: { type: string; output?: unknown }[] }).input ?? [])
      .find((input) => JSON.stringify(input).includes('go on in the cut fork'))!
    for (const held of ['before the running turn', 'cut me at the fork', '<turn_aborted>'])
      expect(JSON.stringify(asked)).toContain(held)
    const outputs = asked.filter((i) => i.type === 'function_call_output').map((i) => String(i.output))
    expect(outputs).toHaveLength(2)
    expect(outputs[0]).toContain('done-before-fork')
    expect(outputs[1]).toBe('aborted')
    expect(JSON.stringify(asked)).not.toContain('answered after the fork point')
    expect(await fresh.locator('.turn:not(.inherited) .user-input').textContent()).toMatch(/^Turn 3 · /)
  })

  it("a fork whose parent's history cannot be read says why (no answer, a 503, the parent gone) and reads it again when asked", async () => {
    const parent = await json<Session>(postJson(`${shared.gw.url}/v1/sessions`, { approvalPolicy: 'never' }))
    shared.mock.on('history to read', { kind: 'text', text: 'an answer to read' })
    await postJson(`${shared.gw.url}/v1/sessions/${parent.id}/turns?wait=true`, { input: 'history to read' })
    const fork = await json<Session>(postJson(`${shared.gw.url}/v1/sessions/${parent.id}/fork`, {}))
    const page = await open()
    const point = page.getByTestId('fork-point')
    const eventsUrl = `${shared.gw.url}/v1/sessions/${parent.id}/events`
    // no answer: a live view retries that for ever; history read once says so
    await page.route(eventsUrl, (route) => route.abort('internetdisconnected'))
    await page.goto(`${shared.gw.url}/#/sessions/${fork.id}`)
    await poll(() => point.getAttribute('data-state')).toBe('error')
    expect(await point.getByRole('alert').textContent()).toBe(
      ': the history it holds could not be read. The gateway did not answer (Failed to fetch): check the connection and try again.',
    )
    expect(await page.locator('.turn.inherited').count()).toBe(0)
    expect(await keyboardProblems(page)).toEqual([])
    // a proxy answering for a gateway away
    await page.unroute(eventsUrl)
    await page.route(eventsUrl, (route) =>
      route.fulfill({ status: 503, contentType: 'text/plain', body: 'Service Unavailable' }),
    )
    await point.getByRole('button', { name: 'Read it again' }).click()
    await poll(() => point.getByRole('alert').textContent()).toContain('503: Service Unavailable')
    expect(await point.getAttribute('data-state')).toBe('error')
    // answered again: read
    await page.unroute(eventsUrl)
    await point.getByRole('button', { name: 'Read it again' }).press('Enter')
    await poll(() => point.getAttribute('data-state')).toBe('done')
    expect(await page.locator('.turn.inherited').textContent()).toContain('an answer to read')
    // the parent gone (as a gateway that lost its record answers)
    const parentUrl = `${shared.gw.url}/v1/sessions/${parent.id}`
    await page.route(parentUrl, (route) =>
      route.fulfill({
        status: 404,
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'not_found', message: `session ${parent.id} not found` } }),
      }),
    )
    await page.reload()
    await poll(() => point.getAttribute('data-state')).toBe('error')
    expect(await point.getByRole('alert').textContent()).toContain(`404: session ${parent.id} not found`)
    // an archived parent keeps its history: the fork still shows what it holds
    await page.unroute(parentUrl)
    await postJson(`${shared.gw.url}/v1/sessions/${parent.id}/archive`, {})
    await page.reload()
    await poll(() => point.getAttribute('data-state')).toBe('done')
    expect(await page.locator('.turn.inherited').textContent()).toContain('an answer to read')
  })

  it('errors read clearly: input the gateway refuses (400) says why, a 500 that is not JSON shows its text, and no answer at all says so', async () => {
    const page = await open()
    await page.getByLabel('Prompt').fill('an error please')
    await page.getByLabel('Working directory').fill('/etc')
    await page.getByRole('button', { name: 'Stream' }).click()
    const alert = page.getByRole('alert')
    await poll(() => alert.textContent()).toMatch(/^400: cwd "\/etc" is outside the workspace roots/)
    await page.getByLabel('Working directory').fill('')
    // what a proxy or a crashing handler may send: not JSON, long, with markup shown as text
    await page.route(`${shared.gw.url}/v1/runs`, (route) =>
      route.fulfill({
        status: 500,
        contentType: 'text/html',
        body: `<h1>upstream   exploded</h1>\n${'x'.repeat(1000)}`,
      }),
    )
    await page.getByRole('button', { name: 'Stream' }).click()
    await poll(() => alert.textContent()).toMatch(/^500: <h1>upstream exploded<\/h1> x+…$/)
    expect((await alert.textContent())!.length).toBe('500: '.length + 200 + 1)
    expect(await alert.locator('h1').count()).toBe(0)
    await page.unroute(`${shared.gw.url}/v1/runs`)
    await page.route(`${shared.gw.url}/v1/runs`, (route) => route.abort('internetdisconnected'))
    await page.getByRole('button', { name: 'Stream' }).click()
    await poll(() => alert.textContent()).toBe(
      'The gateway did not answer (Failed to fetch): check the connection and try again.',
    )
    expect(new URL(page.url()).hash).toBe('')
  })

  it('New run offers the agents that take a prompt: not `cli`, which /v1/agents lists but needs a command', async () => {
    const listed = await json<{ agents: { id: string }[] }>(fetch(`${shared.gw.url}/v1/agents`))
    expect(listed.agents.map((a) => a.id)).toContain('cli')
    const page = await open()
    await page.locator('[data-loaded]').waitFor()
    // each option reads its agent's id (and " (unavailable)" when it cannot run)
    const offered = (await page.getByLabel('Agent').locator('option').allTextContents()).map(
      (t) => t.split(' ')[0],
    )
    expect(offered).toContain('codex')
    expect(offered).not.toContain('cli')
  })

  it('"Skip to content" moves focus into the view it skips to, and keeps that view; a route change focuses the new view\'s heading', async () => {
    const page = await open('#/runs')
    await page.locator('[data-loaded]').waitFor()
    await page.keyboard.press('Tab')
    await page.keyboard.press('Enter')
    expect(await page.locator('main h1').textContent()).toBe('History')
    expect(new URL(page.url()).hash).toBe('#/runs')
    expect(await page.evaluate('document.activeElement.id')).toBe('main')
    await page.keyboard.press('Tab')
    expect(await page.evaluate('document.activeElement.closest("label")?.textContent.trim()')).toMatch(
      /^Status/,
    )
    // A route change moves the focus to the new view's heading (a screen reader reads it; Tab goes on in the
    // view), not left on the link that went there; the first load above left it where the page starts.
    await page.locator('nav a[data-nav="sessions"]').focus()
    await page.keyboard.press('Enter')
    await poll(() => page.evaluate('document.activeElement.id')).toBe('sessions-title')
    expect(new URL(page.url()).hash).toBe('#/sessions')
    await page.keyboard.press('Tab')
    expect(await page.evaluate('Boolean(document.activeElement.closest("main form"))')).toBe(true)
  })

  it('on a phone, long words (a path in the prompt, the command, its output, raw events) stay within the screen', async () => {
    const long = `/workspace/${'very-long-directory-name-'.repeat(8)}end`
    shared.mock.on(
      'a long command',
      { kind: 'exec_command', cmd: `echo ${long}/${'x'.repeat(300)}` },
      {
        kind: 'text',
        // and a table wider than the screen: it scrolls in a region of its own (squeezed, it broke every word)
        text: `printed ${long}\n\n${['| agent ', '| ---- '].map((c) => `${c.repeat(9)}|`).join('\n')}\n${'| codex-app-server '.repeat(9)}|`,
      },
    )
    const run = await json<{ id: string; status: string }>(
      postJson(`${shared.gw.url}/v1/runs?wait=true`, {
        agent: 'codex',
        prompt: `run a long command in ${long}`,
        sandbox: 'workspace-write',
      }),
    )
    expect(run.status).toBe('succeeded')
    const page = await open(`#/runs/${run.id}`, { width: 390, height: 844 })
    // how far the page can scroll sideways: what sticks out past the screen's right edge
    const sticksOut = () =>
      page.evaluate(() => {
        const root = (
          globalThis as unknown as {
            document: { documentElement: { scrollWidth: number; clientWidth: number } }
          }
        ).document.documentElement
        return root.scrollWidth - root.clientWidth
      })
    await poll(() => page.getByTestId('command').locator('pre.output').textContent()).toContain(
      'x'.repeat(300),
    )
    await page.getByTestId('agent-message').waitFor()
    await screenshot(page, 'command-phone')
    expect(await sticksOut()).toBe(0)
    expect(await phoneLayoutProblems(page)).toEqual([])
    const table = page.getByRole('region', { name: 'Table' })
    expect(await table.evaluate((el) => el.scrollWidth > el.clientWidth)).toBe(true)
    // Tab reaches it (to scroll it with the arrow keys), as every control of the view
    expect(await keyboardProblems(page)).toEqual([])
    await page.getByLabel('Raw events').check()
    await page.locator('[data-raw-seq]').first().waitFor()
    expect(await sticksOut()).toBe(0)

    const session = await json<Session>(postJson(`${shared.gw.url}/v1/sessions`, { approvalPolicy: 'never' }))
    shared.mock.on('a long question', { kind: 'text', text: 'a short answer' })
    await postJson(`${shared.gw.url}/v1/sessions/${session.id}/turns`, {
      input: `a long question about ${long}`,
    })
    await page.goto(`${shared.gw.url}/#/sessions/${session.id}`)
    await poll(() => page.locator('.turn').first().textContent()).toContain('a short answer')
    expect(await sticksOut()).toBe(0)
  })

  it('approvals from a phone: accept one (the file appears), decline another (no file); the count shows', async () => {
    const session = await json<Session>(
      postJson(`${shared.gw.url}/v1/sessions`, { approvalPolicy: 'untrusted', sandbox: 'workspace-write' }),
    )
    shared.mock.on(
      'write the approved file',
      { kind: 'exec_command', cmd: 'echo yes > phone-approved.txt' },
      { kind: 'text', text: 'wrote it' },
    )
    shared.mock.on(
      'write the declined file',
      {
        kind: 'apply_patch',
        patch: '*** Begin Patch\n*** Add File: phone-declined.txt\n+no\n*** End Patch\n',
      },
      { kind: 'text', text: 'did not write' },
    )
    const first = await json<Turn>(
      postJson(`${shared.gw.url}/v1/sessions/${session.id}/turns`, { input: 'write the approved file' }),
    )
    const page = await open('#/approvals', { width: 390, height: 844 })
    const card = page.locator('.approval:not(.resolved)', { hasText: 'phone-approved.txt' })
    await card.waitFor({ timeout: 30_000 })
    expect(await page.getByTestId('approval-count').textContent()).toMatch(/^1/)
    await screenshot(page, 'approvals-phone')
    await card.getByRole('button', { name: 'Accept', exact: true }).click()
    const resolved = page.locator('.approval.resolved', { hasText: 'phone-approved.txt' })
    await poll(() => resolved.getByTestId('decision').textContent()).toBe('accept')
    // the answered card went: the focus is not left on the page's top but where the inbox goes on
    const focused = () => page.evaluate('document.activeElement.textContent.trim()')
    await poll(focused).toBe('Pending')
    await waitForTurn(session.id, first.id)
    expect(existsSync(path.join(session.cwd, 'phone-approved.txt'))).toBe(true)

    // A file change (read-only: codex must ask to write), shown as its diff.
    const patching = await json<Session>(
      postJson(`${shared.gw.url}/v1/sessions`, { approvalPolicy: 'untrusted', sandbox: 'read-only' }),
    )
    const second = await json<Turn>(
      postJson(`${shared.gw.url}/v1/sessions/${patching.id}/turns`, { input: 'write the declined file' }),
    )
    const next = page.locator('.approval:not(.resolved)', { hasText: 'phone-declined.txt' })
    await next.waitFor({ timeout: 30_000 })
    expect(await next.locator('.diff .diff-add').first().textContent()).toBe('+no\n')
    await next.getByRole('button', { name: 'Decline' }).press('Enter')
    const declined = page.locator('.approval.resolved', { hasText: 'phone-declined.txt' })
    await poll(() => declined.getByTestId('decision').textContent()).toBe('decline')
    await poll(focused).toBe('Pending')
    await waitForTurn(patching.id, second.id)
    expect(existsSync(path.join(patching.cwd, 'phone-declined.txt'))).toBe(false)
    await poll(() => page.getByTestId('approval-count').count()).toBe(0)
  })

  it('on a phone with touch, every view fits, reads whole, can be tapped and reached by Tab: run, cancel, session, approval', async () => {
    const context = await shared.browser.newContext({
      viewport: { width: 390, height: 844 },
      hasTouch: true,
      isMobile: true,
      // dark: the desktop accessibility test reads both schemes; the phone-only styles are read here in the darker one
      colorScheme: 'dark',
    })
    contexts.push(context)
    const page = await context.newPage()
    const fits = async (view: string) => {
      expect.soft(await phoneLayoutProblems(page), view).toEqual([])
      expect.soft(await seriousA11yViolations(page), `${view}: accessibility`).toEqual([])
      // a phone with a keyboard (or a switch, or a screen reader's next/previous) reaches every control
      expect.soft(await keyboardProblems(page), `${view}: keyboard`).toEqual([])
    }

    // A streamed run, followed to its end: long enough to scroll, and the header does not stay over it.
    shared.mock.on(
      'phone run',
      { kind: 'exec_command', cmd: 'seq 1 60' },
      { kind: 'text', text: 'counted to sixty on a phone' },
    )
    await page.goto(`${shared.gw.url}/#/new`)
    await page.getByLabel('Prompt').fill('a phone run')
    await page.getByLabel('Sandbox').selectOption('workspace-write')
    await fits('compose')
    await page.getByRole('button', { name: 'Stream' }).tap()
    await page.waitForURL(/#\/runs\/run_/)
    await poll(() => page.getByTestId('run-status').textContent()).toBe('succeeded')
    await page.getByTestId('agent-message').waitFor()
    await fits('run')
    await page.evaluate('window.scrollTo(0, document.documentElement.scrollHeight)')
    expect(
      await page.evaluate('Boolean(document.elementFromPoint(195, 20)?.closest("header"))'),
      'scrolled to the end of a run, the top of the screen shows the run, not the header',
    ).toBe(false)

    // A run that would go on for a minute, cancelled with a tap.
    shared.mock.on('phone wait', { kind: 'exec_command', cmd: 'sleep 60' })
    await page.goto(`${shared.gw.url}/#/new`)
    await page.getByLabel('Prompt').fill('a phone wait')
    await page.getByLabel('Sandbox').selectOption('workspace-write')
    await page.getByRole('button', { name: 'Stream' }).tap()
    await page.waitForURL(/#\/runs\/run_/)
    await poll(() => page.getByTestId('command').textContent()).toContain('sleep 60')
    await page.getByRole('button', { name: 'Cancel' }).tap()
    await poll(() => page.getByTestId('run-status').textContent()).toBe('cancelled')
    await fits('cancelled run')

    await page.goto(`${shared.gw.url}/#/runs`)
    await page.locator('[data-run-id]').first().waitFor()
    await fits('history')

    // A session started from the phone whose turn asks for an approval, answered with a tap where it is followed.
    shared.mock.on(
      'phone approval',
      { kind: 'exec_command', cmd: 'echo tapped > phone-tapped.txt' },
      { kind: 'text', text: 'wrote the tapped file' },
    )
    await page.goto(`${shared.gw.url}/#/sessions`)
    await page.getByLabel('Approval policy').selectOption('untrusted')
    await page.getByLabel('Sandbox').selectOption('workspace-write')
    await fits('sessions')
    await page.getByRole('button', { name: 'Start session' }).tap()
    await page.waitForURL(/#\/sessions\/ses_/)
    await page.getByLabel('Message').fill('a phone approval')
    await page.getByRole('button', { name: 'Send' }).tap()
    await poll(() => page.getByTestId('session-status').textContent()).toBe('waiting_for_approval')
    const waiting = page.getByRole('list', { name: 'Waiting for your answer' }).locator('.approval')
    await poll(() => waiting.textContent()).toContain('phone-tapped.txt')
    await fits('session waiting for an approval')
    const inboxLink = page.getByRole('link', { name: 'answer in the inbox' })
    expect(await inboxLink.count()).toBe(1)
    await waiting.getByRole('button', { name: 'Accept', exact: true }).tap()
    await poll(() => page.locator('.turn').first().textContent()).toContain('wrote the tapped file')
    await poll(() => waiting.count()).toBe(0)
    // answered: the request stays in the turn, without a link to an inbox that has nothing of it
    expect(await inboxLink.count()).toBe(0)
    // (idle: its Interrupt button disabled, not going so while Tab walks the view)
    await poll(() => page.getByTestId('session-status').textContent()).toBe('idle')
    await fits('session')
    await page.goto(`${shared.gw.url}/#/approvals`)
    const resolved = page.locator('.approval.resolved', { hasText: 'phone-tapped.txt' })
    await poll(() => resolved.getByTestId('decision').textContent()).toBe('accept')
    await fits('approvals')

    await page.goto(`${shared.gw.url}/#/agents`)
    await page.locator('tr[data-agent="codex"]').waitFor()
    await fits('agents')
  })

  it('a message that steers the running turn shows in that turn, as said, also after a reload', async () => {
    // the first answer is held until the steer is in: the turn certainly runs when it is sent
    const slow = held({ kind: 'text', text: 'working on it slowly' })
    shared.mock.script(slow.step, { kind: 'text', text: 'done, with pineapples' })
    const session = await json<Session>(postJson(`${shared.gw.url}/v1/sessions`, { approvalPolicy: 'never' }))
    const page = await open(`#/sessions/${session.id}`)
    await page.getByLabel('Message').fill('start a long task')
    await page.getByLabel('Message').press('Control+Enter')
    await slow.asked
    await page.getByLabel('While busy').selectOption('steer')
    await page.getByLabel('Message').fill('also mention pineapples')
    await page.getByRole('button', { name: 'Send' }).click()
    const steered = () => page.locator('.turn').first().getByTestId('steered-input').textContent()
    await poll(steered).toContain('also mention pineapples')
    slow.release()
    await poll(() => page.locator('.turn').first().textContent()).toContain('done, with pineapples')
    expect(await page.locator('.turn').count()).toBe(1)
    // from the stored history: the session's turns and its replayed events
    await page.reload()
    await poll(steered).toContain('also mention pineapples')
  })

  it('a session with two turns, and a second tab on it stays in sync; a third turn with its own approval policy says so', async () => {
    shared.mock.on('first turn please', { kind: 'text', text: 'first reply from the agent' })
    shared.mock.on('second turn please', { kind: 'text', text: 'second reply from the agent' })
    const page = await open('#/sessions')
    await page.getByLabel('Approval policy').selectOption('never')
    await page.getByRole('button', { name: 'Start session' }).click()
    await page.waitForURL(/#\/sessions\/ses_/)
    const other = await page.context().newPage()
    await other.goto(page.url())
    await other.getByTestId('session-status').waitFor()

    await page.getByLabel('Message').fill('first turn please')
    await page.getByRole('button', { name: 'Send' }).click()
    for (const tab of [page, other])
      await poll(() => tab.locator('.turn').nth(0).textContent()).toContain('first reply from the agent')
    await poll(() => page.getByTestId('session-status').textContent()).toBe('idle')

    await other.getByLabel('Message').fill('second turn please')
    await other.getByRole('button', { name: 'Send' }).click()
    for (const tab of [page, other])
      await poll(() => tab.locator('.turn').nth(1).textContent()).toContain('second reply from the agent')
    expect(await page.locator('.turn').count()).toBe(2)
    expect(await page.locator('.turn').nth(0).textContent()).toContain('first turn please')
    // codex's notifications the gateway keeps raw (two a turn: test/integration/v1-sessions.test.ts) are one
    // closed row, not a row each burying the conversation; opened, each is there
    const raw = page.locator('.turn').nth(0).locator('details.raw-group')
    expect(await raw.count()).toBe(1)
    expect(await raw.locator('summary').textContent()).toBe('agent.raw 2 raw events from codex')
    expect(await raw.locator('.raw-list').isVisible()).toBe(false)
    await raw.locator('summary').click()
    expect(await raw.locator('.raw-list > li').count()).toBe(2)
    expect(await raw.locator('.raw-list').textContent()).toContain('"method": "item/started"')

    // a turn that named its own policy says so; the turns that ran with the session's do not
    shared.mock.on('third turn please', { kind: 'text', text: 'third reply from the agent' })
    const sessionId = decodeURIComponent(page.url().split('/').at(-1)!)
    const third = await postJson(`${shared.gw.url}/v1/sessions/${sessionId}/turns?wait=true`, {
      input: 'third turn please',
      approvalPolicy: 'untrusted',
    })
    expect(third.status).toBe(200)
    await poll(() => page.locator('.turn').nth(2).textContent()).toContain('third reply from the agent')
    expect(await page.locator('.turn').nth(2).getByTestId('turn-approvals').textContent()).toBe(
      ' · approvals: untrusted',
    )
    expect(await page.getByTestId('turn-approvals').count()).toBe(1)
    await screenshot(page, 'session')
  })

  it('history lists runs by status and replays one; the agents view shows codex', async () => {
    const page = await open('#/runs')
    await page.getByLabel('Status').selectOption('succeeded')
    const first = page.locator('[data-run-id]').first()
    await first.waitFor({ timeout: 30_000 })
    await screenshot(page, 'history')
    await first.locator('a').click()
    await page.waitForURL(/#\/runs\/run_/)
    await poll(() => page.getByTestId('run-status').textContent()).toBe('succeeded')
    await page.getByTestId('agent-message').first().waitFor()
    await page.goto(`${shared.gw.url}/#/agents`)
    const codex = page.locator('tr[data-agent="codex"]')
    await poll(() => codex.textContent()).toContain('sessions')
    await screenshot(page, 'agents')
  })

  it('no serious or critical accessibility violations in any view, light and dark', async () => {
    const runs = await json<{ runs: { id: string }[] }>(fetch(`${shared.gw.url}/v1/runs`))
    const sessions = await json<{ sessions: { id: string }[] }>(fetch(`${shared.gw.url}/v1/sessions`))
    const views = [
      '#/new',
      '#/runs',
      `#/runs/${runs.runs[0]!.id}`,
      '#/sessions',
      `#/sessions/${sessions.sessions[0]!.id}`,
      '#/approvals',
      '#/agents',
    ]
    for (const scheme of ['light', 'dark'] as const) {
      const page = await open()
      await page.emulateMedia({ colorScheme: scheme })
      for (const view of views) {
        await page.goto(`${shared.gw.url}/${view}`)
        await page.locator('main h1').waitFor()
        await page.locator('[data-loaded]').waitFor()
        expect(await seriousA11yViolations(page), `${view} (${scheme})`).toEqual([])
      }
    }
  })

  async function waitForTurn(sessionId: string, turnId: string): Promise<Turn> {
    for (;;) {
      const s = await json<{ turns: Turn[] }>(fetch(`${shared.gw.url}/v1/sessions/${sessionId}`))
      const t = s.turns.find((x) => x.id === turnId)
      if (t && ['completed', 'failed', 'interrupted'].includes(t.status)) return t
      await new Promise((r) => setTimeout(r, 100))
    }
  }
})

/** The real gemini (Gemini CLI, headless: no approvals) next to codex, both against the mock model. */
describe('web console with an agent without approvals, and claude', { timeout: 120_000 }, () => {
  const shared = consoleFixture((mock) => ({
    AGENTS: 'codex,gemini,claude',
    ...mockAgentSettings(mock, { anthropic: 'unused', gemini: 'gemini-test-key', copilot: 'unused' }),
  }))

  it('a gemini session is started without an approval policy, and the form says why; codex keeps the choice and shows its default', async () => {
    shared.mock.on('hello gemini', { kind: 'text', text: 'gemini answers' })
    const context = await shared.browser.newContext({ viewport: { width: 1100, height: 900 } })
    try {
      const page = await context.newPage()
      await page.goto(`${shared.gw.url}/#/sessions`)
      await page.locator('#s-agent option', { hasText: 'gemini' }).waitFor({ state: 'attached' })
      await page.getByLabel('Approval policy').selectOption('untrusted')
      await page.getByLabel('Agent').selectOption('gemini')
      expect(await page.getByLabel('Approval policy').inputValue()).toBe('none: never asks')
      const why = await page.getByTestId('no-approvals').textContent()
      expect(why).toContain('gemini cannot ask for approvals')
      expect(why).toContain('For approvals choose codex')
      expect(await seriousA11yViolations(page)).toEqual([])
      await page.getByRole('button', { name: 'Start session' }).click()
      await page.waitForURL(/#\/sessions\/ses_/)
      const id = decodeURIComponent(page.url().split('/').at(-1)!)
      const session = (await (await fetch(`${shared.gw.url}/v1/sessions/${id}`)).json()) as Session
      expect(session).toMatchObject({ agent: 'gemini', approvalPolicy: null })
      await poll(() => page.getByTestId('session-approvals').textContent()).toBe(
        'none: this agent cannot ask',
      )
      await page.getByLabel('Message').fill('hello gemini')
      await page.getByRole('button', { name: 'Send' }).click()
      await poll(() => page.locator('.turn').nth(0).textContent()).toContain('gemini answers')

      await page.goto(`${shared.gw.url}/#/sessions`)
      await page.locator('#s-agent option', { hasText: 'codex' }).waitFor({ state: 'attached' })
      await page.getByLabel('Agent').selectOption('codex')
      await page.getByLabel('Approval policy').selectOption('untrusted')
      expect(await page.getByTestId('no-approvals').count()).toBe(0)

      // a codex session with no policy of its own shows the one codex runs it with
      const plain = (await (await postJson(`${shared.gw.url}/v1/sessions`, {})).json()) as Session
      expect(plain).toMatchObject({ approvalPolicy: null, agentApprovalPolicy: 'on-request' })
      await page.goto(`${shared.gw.url}/#/sessions/${plain.id}`)
      await poll(() => page.getByTestId('session-approvals').textContent()).toBe('default (on-request)')
    } finally {
      await context.close()
    }
  })

  it("claude's accept_for_session from the console: later turns run the command unasked, and the session shows what it allowed", async () => {
    const append = `node -e "require('fs').appendFileSync('log.txt', 'x')"`
    shared.mock.on(
      'append once',
      { kind: 'exec_command', cmd: append },
      { kind: 'text', text: 'appended once' },
    )
    shared.mock.on(
      'append again',
      { kind: 'exec_command', cmd: append },
      { kind: 'text', text: 'appended again' },
    )
    const session = (await (
      await postJson(`${shared.gw.url}/v1/sessions`, { agent: 'claude', approvalPolicy: 'on-request' })
    ).json()) as Session
    const context = await shared.browser.newContext({ viewport: { width: 1100, height: 900 } })
    try {
      const page = await context.newPage()
      await page.goto(`${shared.gw.url}/#/sessions/${session.id}`)
      await poll(() => page.getByTestId('session-approvals').textContent()).toBe('on-request')
      expect(await page.getByTestId('session-allowed').count()).toBe(0)
      await page.getByLabel('Message').fill('append once')
      await page.getByRole('button', { name: 'Send' }).click()
      const waiting = page.getByRole('list', { name: 'Waiting for your answer' }).locator('.approval')
      await poll(() => waiting.textContent()).toContain('appendFileSync')
      await waiting.getByRole('button', { name: 'Accept for session' }).click()
      await poll(() => page.locator('.turn').nth(0).textContent()).toContain('appended once')
      await poll(() => page.getByTestId('session-allowed').textContent()).toMatch(/^Bash\(node /)

      await page.getByLabel('Message').fill('append again')
      await page.getByRole('button', { name: 'Send' }).click()
      await poll(() => page.locator('.turn').nth(1).textContent()).toContain('appended again')
      expect(readFileSync(path.join(session.cwd, 'log.txt'), 'utf8')).toBe('xx')
      const asked = (await (await fetch(`${shared.gw.url}/v1/approvals?sessionId=${session.id}`)).json()) as {
        approvals: unknown[]
      }
      expect(asked.approvals).toHaveLength(1)
      expect(await seriousA11yViolations(page)).toEqual([])
    } finally {
      await context.close()
    }
  })
})

describe('web console with API_TOKENS', { timeout: 120_000 }, () => {
  const shared = consoleFixture({ AGENTS: 'codex', API_TOKENS: 'console-token-123' })

  it('asks for a token (the API answers 401 without it), then runs and streams with it in a header only', async () => {
    expect((await fetch(`${shared.gw.url}/v1/agents`)).status).toBe(401)
    const index = await fetch(`${shared.gw.url}/`)
    expect(index.status).toBe(200)
    expect(index.headers.get('cache-control')).toBe('no-cache')
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(await index.text())![1]!
    const asset = await fetch(`${shared.gw.url}${script}`)
    expect(asset.status).toBe(200)
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect((await fetch(`${shared.gw.url}/openapi.json`)).status).toBe(401)
    const context = await shared.browser.newContext()
    const page = await context.newPage()
    const urls: string[] = []
    const streamAuth: (string | undefined)[] = []
    let loggedIn = false
    page.on('request', (r) => {
      urls.push(r.url())
      // Streams opened before the token was typed (the inbox) are answered 401 and end.
      if (loggedIn && r.url().includes('/events')) streamAuth.push(r.headers().authorization)
    })
    await page.goto(`${shared.gw.url}/`)
    await page.getByLabel('API token').waitFor()
    await screenshot(page, 'login')
    // on a phone, with a keyboard alone: it fits, and Tab reaches the field and the button
    await page.setViewportSize({ width: 390, height: 844 })
    expect(await phoneLayoutProblems(page)).toEqual([])
    expect(await keyboardProblems(page)).toEqual([])
    await page.setViewportSize({ width: 1280, height: 720 })
    await page.getByLabel('API token').fill('console-token-123')
    loggedIn = true
    await page.getByRole('button', { name: 'Use this token' }).click()
    await poll(() => page.locator('#agent option').count()).toBeGreaterThan(0)
    shared.mock.on('token run', { kind: 'text', text: 'streamed with a token' })
    await page.getByLabel('Prompt').fill('a token run')
    await page.getByRole('button', { name: 'Stream' }).click()
    await poll(() => page.getByTestId('agent-message').textContent()).toContain('streamed with a token')
    expect(streamAuth.length).toBeGreaterThan(0)
    expect(streamAuth.every((h) => h === 'Bearer console-token-123')).toBe(true)
    expect(urls.some((u) => u.includes('console-token-123'))).toBe(false)
    // The OpenAPI document, which a plain link could not fetch with a token, downloads with it.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'OpenAPI' }).click(),
    ])
    expect(download.suggestedFilename()).toBe('openapi.json')
    const document = JSON.parse(readFileSync((await download.path())!, 'utf8')) as { openapi: string }
    expect(document.openapi).toMatch(/^3\.1/)
    // The documentation pages use the same saved token.
    await page.goto(`${shared.gw.url}/redoc`)
    await page.locator('#redoc h1').first().waitFor({ timeout: 30_000 })
    await page.goto(`${shared.gw.url}/docs`)
    await page.locator('.swagger-ui .info .title').waitFor({ timeout: 30_000 })
    await context.close()
  })
})
