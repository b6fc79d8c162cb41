import { writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import type { Page } from 'playwright-core'
import { describe, expect, it, onTestFinished } from 'vitest'
import type { StoredEvent } from '../../src/protocol/events.js'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { held } from '../mock-llm/index.js'
import {
  keyboardProblems,
  phoneLayoutProblems,
  screenshot,
  seriousA11yViolations,
} from '../support/browser.js'
import { consoleFixture, json, poll } from '../support/console-fixture.js'
import { startCuttingProxy } from '../support/cutting-proxy.js'
import { postJson } from '../support/gateway.js'
import { onePixelPng } from '../support/png.js'

/**
 * The web console's runs and sessions in real Chromium, against the real server running the real codex and the
 * mock model: streaming, reloads, dropped connections, forks, errors. Its phone and accessibility cases are in
 * console-access.test.ts, those of other agents and of API_TOKENS in console-agents.test.ts.
 */
describe('web console', { timeout: 120_000 }, () => {
  // keep-alive every second: a stream gone silent is told within 2.5 s
  const { shared, open, blank, waitForTurn } = consoleFixture({ AGENTS: 'codex', SSE_KEEPALIVE_SECONDS: '1' })

  it('compose and stream a run: the answer as Markdown and the command with its exit code; an image of another origin in it is not fetched', async () => {
    // Where a model's Markdown image would carry what it read: a listener on another port that serves a pixel.
    const asked: string[] = []
    const elsewhere = createServer((req, res) => {
      asked.push(req.url ?? '')
      res.writeHead(200, { 'content-type': 'image/png' }).end(onePixelPng)
    })
    await new Promise<void>((ok) => elsewhere.listen(0, '127.0.0.1', ok))
    onTestFinished(
      () =>
        new Promise<void>((ok) => {
          elsewhere.close(() => ok())
          elsewhere.closeAllConnections()
        }),
    )
    const leak = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/pixel.png?d=forty-two`
    shared.mock.on(
      'count the files',
      { kind: 'exec_command', cmd: 'echo console-says-hi' },
      { kind: 'text', text: `The answer is **forty-two**. ![pixel](${leak})` },
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
    // The image is in the page, and the browser refused it (the console's Content-Security-Policy): before, it
    // loaded, and the listener got the model's `?d=`.
    const image = message.locator('img')
    expect(await image.getAttribute('src')).toBe(leak)
    // whichever event ends the image's fetch: `load` (it was fetched) or `error` (refused, or not an image)
    const outcome = await image.evaluate((el) => {
      const img = el as unknown as {
        complete: boolean
        naturalWidth: number
        onload: (() => void) | null
        onerror: (() => void) | null
      }
      if (img.complete) return img.naturalWidth > 0 ? 'loaded' : 'refused'
      return new Promise<string>((settle) => {
        img.onload = () => settle('loaded')
        img.onerror = () => settle('refused')
      })
    })
    expect(outcome).toBe('refused')
    expect(asked).toEqual([])
    // no page of another origin may frame the console
    const index = await fetch(`${shared.gw.url}/`)
    expect(index.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
    expect(index.headers.get('x-frame-options')).toBe('DENY')
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
    // the first command has ended (its exit shown) before the reload: its end is history, not news, after it
    await poll(() => page.getByTestId('command').first().textContent()).toMatch(/before-reload.*exit 0/s)
    const run = await json<{ status: string; request: { cwd: string } }>(
      fetch(`${shared.gw.url}/v1/runs/${runId}`),
    )
    expect(run.status).toBe('running')
    await page.reload()
    await page.locator('[data-loaded]').waitFor()
    writeFileSync(path.join(run.request.cwd, 'reloaded'), '')
    await poll(() => page.getByTestId('agent-message').textContent()).toContain('all done after the reload')
    // a screen reader is told what came after the reload (a log region, not shown), not the history again
    const news = page.getByRole('log', { name: 'What happened last' })
    await poll(() => news.locator('p').allTextContents()).toEqual([
      expect.stringMatching(/^Command completed, exit 0: .*echo after-reload/),
      'The agent says: all done after the reload',
      'Run succeeded',
    ])
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

  it('a connection dropped while a command streams, then one gone silent: the console resumes (Last-Event-ID), its output neither doubled nor short', async () => {
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
      const page = await blank()
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
      // the network goes silent (no FIN, no RST: wifi gone): past 2.5x the announced keep-alive the console says
      // `reconnecting`, reconnects, and shows what the session did meanwhile; before, it stayed `live`, unaware
      expect(proxy.stall()).toBeGreaterThan(0)
      shared.mock.on('during the silence', { kind: 'text', text: 'answered during the silence' })
      await postJson(`${shared.gw.url}/v1/sessions/${session.id}/turns`, {
        input: 'during the silence please',
      })
      await poll(() => streamState.textContent()).toBe('reconnecting')
      await poll(() =>
        page.getByTestId('agent-message').filter({ hasText: 'answered during the silence' }).count(),
      ).toBe(1)
      await poll(() => streamState.textContent()).toBe('live')
      expect(await output.textContent()).toBe('line-one\nline-two\nline-three\n')
    } finally {
      await proxy.close()
    }
  })

  it('a gateway restarting behind a proxy (502, then a stream ended without anything new): the session is followed again', async () => {
    const session = await json<Session>(postJson(`${shared.gw.url}/v1/sessions`, { approvalPolicy: 'never' }))
    shared.mock.on('after the restart', { kind: 'text', text: 'answered after the restart' })
    const page = await blank()
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
    // opened afresh (a new document, its sessionStorage cleared: nothing of the parent seen): the same, from the gateway
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
    // the second command prints a line until the test writes a file, once the fork is made: again and again, as
    // codex streams a command's output only from when it starts watching it (a line printed at once came only in
    // the command's result, after its 30 s yield, in about one run of two)
    shared.mock.on(
      'cut me at the fork',
      { kind: 'exec_command', cmd: 'echo done-before-fork' },
      {
        kind: 'exec_command',
        cmd: 'until [ -e go ]; do echo printed-before-fork; sleep 0.1; done; echo printed-after-fork',
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
    /** `view` shows the fork's history: forked from `from` (the session or, for a fork of the fork, the fork). */
    const showsCut = async (view: Page, from = session.id) => {
      const point = view.getByTestId('fork-point')
      await poll(() => point.getAttribute('data-state')).toBe('done')
      await poll(() => point.textContent()).toBe(
        `Forked from ${from} during turn 2, which it holds up to there: the turns after this are the fork's own.`,
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
    // a fork of the fork before its first turn holds what the fork holds (held-history.ts)
    const forkOfFork = await json<Session>(postJson(`${shared.gw.url}/v1/sessions/${forkId}/fork`, {}))
    expect(forkOfFork).toMatchObject({ forkedFrom: forkId, forkedAtTurn: 0 })
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
    // the fork of the fork shows that history too, its last turn cut "during turn 2" (before: "at turn 2", its
    // parent having run none of its own), not the turn its parent ran since
    await page.evaluate(`location.hash = '#/sessions/${forkOfFork.id}'`)
    await showsCut(page, forkId)
    expect((await page.locator('.turn.inherited').allTextContents()).join()).not.toContain(
      'go on in the cut fork',
    )
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

    // the second tab's screen reader hears the turn it did not send: the answer, then its end
    await poll(() => other.getByTestId('stream-news').locator('p').allTextContents()).toEqual([
      'The agent says: first reply from the agent',
      'Turn completed',
    ])
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
    // the picture: the session's end, its message box below it (no "New output": nothing unread)
    await page.evaluate('window.scrollTo(0, document.documentElement.scrollHeight)')
    await poll(() => page.getByRole('button', { name: 'New output' }).count()).toBe(0)
    await screenshot(page, 'session', { screen: true })
  })

  it('a double tap does each thing once: one session started, one turn sent, one answer, one fork', async () => {
    shared.mock.on(
      'tapped twice',
      { kind: 'exec_command', cmd: 'echo twice >> tapped.txt' },
      { kind: 'text', text: 'answered the double tap' },
    )
    const ids = async () =>
      (await json<{ sessions: Session[] }>(fetch(`${shared.gw.url}/v1/sessions?limit=100`))).sessions.map(
        (s) => s.id,
      )
    const before = new Set(await ids())
    const page = await open('#/sessions')
    await page.getByLabel('Approval policy').selectOption('untrusted')
    await page.getByLabel('Sandbox').selectOption('workspace-write')
    // (a phone's double tap is two clicks, as a mouse's double click)
    await page.getByRole('button', { name: 'Start session' }).dblclick()
    await page.waitForURL(/#\/sessions\/ses_/)
    const sessionId = decodeURIComponent(page.url().split('/').at(-1)!)
    await page.getByLabel('Message').fill('tapped twice')
    await page.getByRole('button', { name: 'Send' }).dblclick()
    const waiting = page.getByRole('list', { name: 'Waiting for your answer' })
    await waiting.locator('.approval').waitFor()
    await poll(() => page.getByTestId('stream-news').textContent()).toContain(
      'Waiting for your approval: command',
    )
    await waiting.getByRole('button', { name: 'Accept', exact: true }).dblclick()
    await poll(() => page.locator('.turn').first().textContent()).toContain('answered the double tap')
    await poll(() => page.getByTestId('session-status').textContent()).toBe('idle')
    // the second answer was not sent to be refused (its error shown)
    expect(await page.getByRole('alert').count()).toBe(0)
    await page.getByRole('button', { name: 'Fork' }).dblclick()
    await page.getByTestId('fork-point').waitFor()
    const session = await json<Session & { turns: Turn[] }>(
      fetch(`${shared.gw.url}/v1/sessions/${sessionId}`),
    )
    expect(session.turns.map((t) => t.status)).toEqual(['completed'])
    const made = (await ids()).filter((id) => !before.has(id))
    // the session and one fork of it
    expect(made).toHaveLength(2)
    expect(made).toContain(sessionId)
  })

  it("structured output: a run's and a turn's JSON Schema, refused inline in the gateway's one wording, the answer shown as JSON; no field for an agent whose turns take none", async () => {
    const schema = {
      type: 'object',
      properties: { answer: { type: 'string' } },
      required: ['answer'],
      additionalProperties: false,
    }
    /** The response format the model was last asked for. */
    const format = () =>
      (shared.mock.requests.at(-1)?.body as { text?: { format?: unknown } } | undefined)?.text?.format
    const asked = shared.mock.requests.length
    // New run: the field is closed until opened; what is not JSON, and what the gateway refuses, shows under it
    const page = await open()
    await page.getByLabel('Prompt').fill('structured run please')
    await page.getByText('Structured output (JSON Schema)').click()
    const field = page.locator('#schema')
    await field.fill('{"type": "object",')
    await page.getByRole('button', { name: 'Stream' }).click()
    const error = page.getByTestId('schema-error')
    await poll(() => error.textContent()).toMatch(/^Not JSON: /)
    expect(await field.getAttribute('aria-invalid')).toBe('true')
    expect(await field.getAttribute('aria-describedby')).toBe('schema-error')
    await field.fill('{"type": "nonsense"}')
    expect(await error.count()).toBe(0)
    await page.getByRole('button', { name: 'Stream' }).click()
    await poll(() => error.textContent()).toMatch(
      /^outputSchema is not a valid JSON Schema: outputSchema\/type/,
    )
    const runRefusal = await error.textContent()
    expect(page.url()).not.toMatch(/#\/runs\//)
    // a schema the gateway takes: the run's result, indented
    shared.mock.on('structured run please', { kind: 'text', text: '{"answer":"forty-two"}' })
    await field.fill(JSON.stringify(schema))
    await page.getByRole('button', { name: 'Stream' }).click()
    await page.waitForURL(/#\/runs\/run_/)
    const answer = page.getByTestId('structured-answer')
    await poll(() => answer.textContent()).toBe(JSON.stringify({ answer: 'forty-two' }, null, 2))
    expect(format()).toMatchObject({ type: 'json_schema', schema })
    expect(shared.mock.requests).toHaveLength(asked + 1)

    // A session's turn (codex: capabilities.turnOutputSchema): the same field, the same refusal, for that turn
    const session = await json<Session>(postJson(`${shared.gw.url}/v1/sessions`, { approvalPolicy: 'never' }))
    await open(`#/sessions/${session.id}`)
    await page.locator('[data-loaded]').waitFor()
    await page.getByLabel('Message').fill('structured turn please')
    await page.getByText('Structured output (JSON Schema)').click()
    const turnField = page.locator('#turn-schema')
    await turnField.fill('[1, 2]')
    await page.getByRole('button', { name: 'Send' }).click()
    await poll(() => error.textContent()).toMatch(/^A JSON Schema is a JSON object/)
    expect(await turnField.getAttribute('aria-invalid')).toBe('true')
    await turnField.fill('{"type": "nonsense"}')
    await page.getByRole('button', { name: 'Send' }).click()
    await poll(() => error.textContent()).toBe(runRefusal)
    // the message stays to be sent again; nothing was asked of the model
    expect(await page.getByLabel('Message').inputValue()).toBe('structured turn please')
    expect(shared.mock.requests).toHaveLength(asked + 1)
    shared.mock.on('structured turn please', { kind: 'text', text: '{"answer":"by turn"}' })
    await turnField.fill(JSON.stringify(schema))
    await page.getByRole('button', { name: 'Send' }).click()
    const turnAnswer = page.locator('.turn').first().getByTestId('structured-answer')
    await poll(() => turnAnswer.textContent()).toBe(JSON.stringify({ answer: 'by turn' }, null, 2))
    expect(format()).toMatchObject({ type: 'json_schema', schema })
    expect(await seriousA11yViolations(page)).toEqual([])

    // an agent whose turns take no schema (GET /v1/agents says so): the turn form has no such field
    await page.route(`${shared.gw.url}/v1/agents`, async (route) => {
      const listed = (await (await route.fetch()).json()) as {
        agents: { capabilities: Record<string, boolean> }[]
      }
      for (const agent of listed.agents) agent.capabilities.turnOutputSchema = false
      await route.fulfill({ json: listed })
    })
    await page.reload()
    await page.locator('[data-loaded]').waitFor()
    await page.getByLabel('Message').waitFor()
    expect(await page.getByText('Structured output (JSON Schema)').count()).toBe(0)
    expect(await page.locator('#turn-schema').count()).toBe(0)
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
})
