import { existsSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import {
  accessibleOf,
  keyboardProblems,
  phoneLayoutProblems,
  screenshot,
  seriousA11yViolations,
} from '../support/browser.js'
import { consoleFixture, json, poll } from '../support/console-fixture.js'
import { postJson } from '../support/gateway.js'

/**
 * How far (px, rounded) from the middle of the run view's toolbar the middles of its row's items lie: the stream's
 * state, Raw events' checkbox and the line of its text.
 */
const toolbarMiddles = (page: Page) =>
  page.evaluate<Record<string, number>>(`(() => {
    const toolbar = document.querySelector('.toolbar')
    const label = toolbar.querySelector('label')
    const text = document.createRange()
    text.selectNodeContents(label)
    text.setStartAfter(label.querySelector('input'))
    const middle = (box) => (box.top + box.bottom) / 2
    const row = middle(toolbar.getBoundingClientRect())
    const off = (box) => Math.round(middle(box) - row) || 0
    return {
      state: off(toolbar.querySelector('.stream-state').getBoundingClientRect()),
      checkbox: off(label.querySelector('input').getBoundingClientRect()),
      text: off(text.getBoundingClientRect()),
    }
  })()`)

/**
 * The web console on a phone, with a keyboard alone and to axe-core, in real Chromium against the real server
 * running the real codex and the mock model: every view fits, is reached by Tab and has no serious violation.
 */
describe('web console on a phone, by keyboard, accessible', { timeout: 120_000 }, () => {
  const { shared, open, phone, waitForTurn } = consoleFixture({
    AGENTS: 'codex',
    APPROVAL_TIMEOUT_SECONDS: '60',
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
        // and a table wider than the screen: it scrolls in a region of its own (squeezed, it broke every word);
        // then a small one, which fits
        text: `printed ${long}\n\n${['| agent ', '| ---- '].map((c) => `${c.repeat(9)}|`).join('\n')}\n${'| codex-app-server '.repeat(9)}|\n\n| agent | state |\n| --- | --- |\n| codex | ready |`,
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
    // the stream's state on the middle of the row it shares with Raw events' checkbox and its text (before: the
    // label's own margins set the checkbox and its text 2 px below the state)
    expect(await toolbarMiddles(page)).toEqual({ state: 0, checkbox: 0, text: 0 })
    const table = page.getByRole('region', { name: 'Table' })
    expect(await table.evaluate((el) => el.scrollWidth > el.clientWidth)).toBe(true)
    // Tab reaches it (to scroll it with the arrow keys), as every control of the view
    expect(await keyboardProblems(page)).toEqual([])
    // a table that fits is no Tab stop, nor a region: the small one on the phone, and on a desktop's width the
    // wide one too (its words wrap where they may); back on the phone the wide one scrolls and is a stop again
    const regions = () =>
      page
        .locator('.table-scroll')
        .evaluateAll((els) =>
          els.map((el) => [
            el.scrollWidth > el.clientWidth,
            el.getAttribute('tabindex'),
            el.getAttribute('role'),
            el.getAttribute('aria-label'),
          ]),
        )
    const scrolls = [true, '0', 'region', 'Table']
    const fits = [false, null, null, null]
    expect(await regions()).toEqual([scrolls, fits])
    await page.setViewportSize({ width: 1100, height: 900 })
    await poll(regions).toEqual([fits, fits])
    await page.setViewportSize({ width: 390, height: 844 })
    await poll(regions).toEqual([scrolls, fits])
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

  it('approvals from a phone, by keyboard: accept one (the file appears; the focus on the next card, named by what it asks, not on its Accept), decline another (no file); a card that comes in later takes no focus; the count shows', async () => {
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
    shared.mock.on(
      'write a late file',
      { kind: 'exec_command', cmd: 'echo late > phone-late.txt' },
      { kind: 'text', text: 'did not write it late' },
    )
    const first = await json<Turn>(
      postJson(`${shared.gw.url}/v1/sessions/${session.id}/turns`, { input: 'write the approved file' }),
    )
    const page = await open('#/approvals', { width: 390, height: 844 })
    const card = page.locator('.approval:not(.resolved)', { hasText: 'phone-approved.txt' })
    await card.waitFor({ timeout: 30_000 })
    expect(await page.getByTestId('approval-count').textContent()).toMatch(/^1/)
    // on the phone the sections are in the closed menu: its button shows the count, and says what it counts
    const menuCount = page.getByRole('button', { name: 'Menu' }).getByTestId('menu-count')
    expect(await menuCount.isVisible()).toBe(true)
    expect(await menuCount.textContent()).toBe('1 approval pending')
    await screenshot(page, 'approvals-phone')

    // A file change (read-only: codex must ask to write), shown as its diff: a second card waiting.
    const patching = await json<Session>(
      postJson(`${shared.gw.url}/v1/sessions`, { approvalPolicy: 'untrusted', sandbox: 'read-only' }),
    )
    const second = await json<Turn>(
      postJson(`${shared.gw.url}/v1/sessions/${patching.id}/turns`, { input: 'write the declined file' }),
    )
    const next = page.locator('.approval:not(.resolved)', { hasText: 'phone-declined.txt' })
    await next.waitFor({ timeout: 30_000 })
    expect(await next.locator('.diff .diff-add').first().textContent()).toBe('+no\n')
    // and said to a screen reader as it came (a log region; before: only the count changed, silently)
    await poll(() => page.getByTestId('approval-news').textContent()).toMatch(
      new RegExp(
        `^(Approval waiting: .*)?Approval waiting: add \\S*phone-declined\\.txt \\(session ${patching.id}\\)$`,
      ),
    )

    // a card is named by what it asks (its command, else its files), the rest its description
    const cardOf = (id: string | null) => `document.querySelector('.approval[data-approval-id="${id}"]')`
    const firstId = await card.getAttribute('data-approval-id')
    expect(await accessibleOf(page, cardOf(firstId))).toEqual({
      role: 'listitem',
      name: expect.stringMatching(/^\/bin\/bash -lc '?echo yes > phone-approved\.txt'?$/),
      description: `command approval, session ${session.id}, in ${session.cwd}`,
    })

    // the first accepted with the keyboard: its card goes, and the focus goes on at the next card itself, which a
    // screen reader names by what it asks (before: its first control, the session's link, said the session's id;
    // before that its Accept, whose command the reader had not read: a second Enter accepted it)
    await card.getByRole('button', { name: 'Accept', exact: true }).press('Enter')
    const resolved = page.locator('.approval.resolved', { hasText: 'phone-approved.txt' })
    await poll(() => resolved.getByTestId('decision').textContent()).toBe('accept')
    // the focused element's tag, text and card (the body: off every control)
    const focused = () =>
      page.evaluate<string>(
        '(e => e === document.body ? "BODY" : e.tagName + ":" + e.textContent.trim() + ":" + (e.closest(".approval")?.dataset.approvalId ?? ""))(document.activeElement)',
      )
    const nextId = await next.getAttribute('data-approval-id')
    await poll(() => page.evaluate('document.activeElement.dataset.approvalId')).toBe(nextId)
    expect(await accessibleOf(page)).toEqual({
      role: 'listitem',
      name: expect.stringMatching(/^add \S*phone-declined\.txt$/),
      description: expect.stringMatching(new RegExp(`^file change approval, session ${patching.id}`)),
    })
    // shown focused (a keyboard brought it there), and Tab goes on into the card: its session's link first
    expect(await page.evaluate('document.activeElement.matches(":focus-visible")')).toBe(true)
    await page.keyboard.press('Tab')
    expect(await focused()).toBe(`A:${patching.id}:${nextId}`)
    await waitForTurn(session.id, first.id)
    expect(existsSync(path.join(session.cwd, 'phone-approved.txt'))).toBe(true)

    // the second declined; while its answer is on its way the reader moves on (to the answered card's link), then
    // off every control (a tap on the page's text): a card that comes in later leaves the focus where it is (before:
    // the answer's flag, never used, gave the new card's Accept the focus)
    let arrived!: () => void
    let release!: () => void
    const answering = new Promise<void>((ok) => {
      arrived = ok
    })
    const held = new Promise<void>((ok) => {
      release = ok
    })
    await page.route(
      (url) => url.pathname.startsWith('/v1/approvals/apr'),
      async (route) => {
        if (route.request().method() === 'POST') {
          arrived()
          await held
        }
        await route.continue()
      },
    )
    await next.getByRole('button', { name: 'Decline' }).press('Enter')
    await answering
    await resolved.getByRole('link').focus()
    release()
    const declined = page.locator('.approval.resolved', { hasText: 'phone-declined.txt' })
    await poll(() => declined.getByTestId('decision').textContent()).toBe('decline')
    await poll(() => next.count()).toBe(0)
    expect(await focused()).toBe(`A:${session.id}:${await resolved.getAttribute('data-approval-id')}`)
    await page.evaluate('document.activeElement.blur()')
    await waitForTurn(patching.id, second.id)
    expect(existsSync(path.join(patching.cwd, 'phone-declined.txt'))).toBe(false)
    const third = await json<Turn>(
      postJson(`${shared.gw.url}/v1/sessions/${session.id}/turns`, { input: 'write a late file' }),
    )
    const late = page.locator('.approval:not(.resolved)', { hasText: 'phone-late.txt' })
    await late.waitFor({ timeout: 30_000 })
    // the view's effects run after a frame is painted: two frames on, they have
    await page.evaluate(
      'new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(ok))))',
    )
    expect(await focused()).toBe('BODY')

    // the last card answered: the focus on the inbox's heading
    await late.getByRole('button', { name: 'Decline' }).press('Enter')
    await poll(focused).toBe('H2:Pending:')
    await waitForTurn(session.id, third.id)
    expect(existsSync(path.join(session.cwd, 'phone-late.txt'))).toBe(false)
    await poll(() => page.getByTestId('approval-count').count()).toBe(0)
    expect(await page.getByTestId('menu-count').count()).toBe(0)
  })

  it('on a phone with touch, every view fits, reads whole, can be tapped and reached by Tab: run, cancel, session, approval', async () => {
    // dark: the desktop accessibility test reads both schemes; the phone-only styles are read here in the darker one
    // the narrow common phone (360 x 740: the strictest for widths; 390 x 844 elsewhere)
    const page = await phone({ width: 360, height: 740 }, { colorScheme: 'dark' })
    const fits = async (view: string) => {
      expect.soft(await phoneLayoutProblems(page), view).toEqual([])
      expect.soft(await seriousA11yViolations(page), `${view}: accessibility`).toEqual([])
      // a phone with a keyboard (or a switch, or a screen reader's next/previous) reaches every control
      expect.soft(await keyboardProblems(page), `${view}: keyboard`).toEqual([])
    }

    // a run started from the New run form with a tap, followed in its view
    const streamRun = async (prompt: string) => {
      await page.goto(`${shared.gw.url}/#/new`)
      await page.getByLabel('Prompt').fill(prompt)
      await page.getByLabel('Sandbox').selectOption('workspace-write')
      await page.getByRole('button', { name: 'Stream' }).tap()
      await page.waitForURL(/#\/runs\/run_/)
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
    // the view followed the run as it streamed (before: it stayed at the top, the answer a screen or more down)
    expect(
      await page.evaluate('document.documentElement.scrollHeight - innerHeight - scrollY'),
      'how far the run view is from its end once the run ended',
    ).toBeLessThanOrEqual(48)
    expect(await page.evaluate('document.documentElement.scrollHeight > innerHeight')).toBe(true)
    // a long output (60 lines; a build's thousands made the page tens of thousands of pixels tall): its last 40
    // lines show, as a terminal's, the rest a tap away
    const lines = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => `${from + i}\n`)
    const output = page.getByTestId('command').locator('pre.output')
    expect(await output.textContent()).toBe(lines(21, 60).join(''))
    const all = page.getByRole('button', { name: 'Show all 60 lines (the last 40 shown)' })
    expect(await all.getAttribute('aria-expanded')).toBe('false')
    await fits('run')
    await all.tap()
    expect(await output.textContent()).toBe(lines(1, 60).join(''))
    const fewer = page.getByRole('button', { name: 'Show the last 40 lines only' })
    expect(await fewer.getAttribute('aria-expanded')).toBe('true')
    await page.evaluate('window.scrollTo(0, document.documentElement.scrollHeight)')
    expect(
      await page.evaluate('Boolean(document.elementFromPoint(180, 20)?.closest("header"))'),
      'scrolled to the end of a run, the top of the screen shows the run, not the header',
    ).toBe(false)

    // A run quicker than the view's first read of it (a loaded server): all of its events come as its history, and
    // the view, as it was started here, still follows it to its end (before: left at its top, the answer a screen
    // or more down)
    shared.mock.on(
      'phone quick run',
      { kind: 'exec_command', cmd: 'seq 1 50' },
      { kind: 'text', text: 'counted quickly on a phone' },
    )
    let releaseRead = () => {}
    const readHeld = new Promise<void>((ok) => {
      releaseRead = ok
    })
    const runRead = /\/v1\/runs\/run_[^/?]+$/
    await page.route(runRead, async (route) => {
      if (route.request().method() === 'GET') await readHeld
      await route.continue()
    })
    await streamRun('a phone quick run')
    await poll(() => page.getByTestId('agent-message').textContent()).toContain('counted quickly')
    releaseRead()
    await poll(() => page.getByTestId('run-status').textContent()).toBe('succeeded')
    await page.unroute(runRead)
    expect(
      await page.evaluate('document.documentElement.scrollHeight - innerHeight - scrollY'),
      'how far the view of a run quicker than its first read is from its end',
    ).toBeLessThanOrEqual(48)

    // A view grown under a reader at its end without a scroll (a block growing, facts coming late): it still
    // follows the output that comes next (before: its end off the screen read as the reader gone up, and the run's
    // later output stayed below)
    shared.mock.on(
      'phone grown view',
      { kind: 'exec_command', cmd: 'while [ ! -e go ]; do sleep 0.05; done; seq 1 50' },
      { kind: 'text', text: 'went on after the view grew' },
    )
    await streamRun('a phone grown view')
    const grownId = page.url().split('/').at(-1)!
    await poll(() => page.getByTestId('command').textContent()).toContain('while')
    await page.evaluate(
      `document.querySelector('.tail-end').before(Object.assign(document.createElement('div'), { style: 'height: 3000px' }))`,
    )
    // two frames on: the view has seen its end off the screen
    await page.evaluate(
      'new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(ok))))',
    )
    const grown = await json<{ request: { cwd: string } }>(fetch(`${shared.gw.url}/v1/runs/${grownId}`))
    writeFileSync(path.join(grown.request.cwd, 'go'), '')
    await poll(() => page.getByTestId('run-status').textContent()).toBe('succeeded')
    await poll(() => page.getByTestId('agent-message').textContent()).toContain('went on after the view grew')
    expect(
      await page.evaluate('document.documentElement.scrollHeight - innerHeight - scrollY'),
      'how far a view that grew without a scroll is from its end once its run ended',
    ).toBeLessThanOrEqual(48)

    // A run that would go on for a minute, cancelled with a tap.
    shared.mock.on('phone wait', { kind: 'exec_command', cmd: 'sleep 60' })
    await streamRun('a phone wait')
    await poll(() => page.getByTestId('command').textContent()).toContain('sleep 60')
    await page.getByRole('button', { name: 'Cancel' }).tap()
    await poll(() => page.getByTestId('run-status').textContent()).toBe('cancelled')
    // Cancel run went with the run's end: the focus it had is on the run's heading, not on the page's top
    await poll(() => page.evaluate('document.activeElement.id')).toBe('run-title')
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
    // said once to a screen reader: by the session's own news, not again by the console's approvals news
    await poll(() => page.getByTestId('stream-news').textContent()).toContain('Waiting for your approval')
    expect(await page.getByTestId('approval-news').textContent()).toBe('')
    // the request in the turn points to its answers right below (in the bar), not away to the inbox: they are
    // here, and the inbox (every session's approvals) is one tap away in the navigation (before: "answer in the
    // inbox", as if they were not here)
    const answerBelow = page.locator('.conversation').getByTestId('answer-below')
    expect(await answerBelow.textContent()).toContain('waiting for your answer, below')
    expect(await page.getByRole('link', { name: 'answer in the inbox' }).count()).toBe(0)
    await waiting.getByRole('button', { name: 'Accept', exact: true }).tap()
    await poll(() => page.locator('.turn').first().textContent()).toContain('wrote the tapped file')
    await poll(() => waiting.count()).toBe(0)
    // answered: the request stays in the turn, without saying an answer is waiting
    expect(await answerBelow.count()).toBe(0)
    // (idle: its Interrupt button disabled, not going so while Tab walks the view)
    await poll(() => page.getByTestId('session-status').textContent()).toBe('idle')
    await fits('session')
    // the sessions listed with their directories whole (before: cut off with an ellipsis on a phone, the end that
    // tells two apart hidden)
    await page.goto(`${shared.gw.url}/#/sessions`)
    const paths = page.locator('code.excerpt')
    await poll(() => paths.count()).toBeGreaterThan(0)
    expect(await paths.evaluateAll((els) => els.filter((el) => el.scrollWidth > el.clientWidth).length)).toBe(
      0,
    )
    expect(await phoneLayoutProblems(page)).toEqual([])
    await page.goto(`${shared.gw.url}/#/approvals`)
    const resolved = page.locator('.approval.resolved', { hasText: 'phone-tapped.txt' })
    await poll(() => resolved.getByTestId('decision').textContent()).toBe('accept')
    await fits('approvals')

    await page.goto(`${shared.gw.url}/#/agents`)
    await page.locator('tr[data-agent="codex"]').waitFor()
    await fits('agents')
  })

  it('no serious or critical accessibility violations in any view, light and dark; at 200 % zoom each fits', async () => {
    // a run whose output is long: its "Show all" button, link-styled, was 23 px tall (under 24) in some fonts
    shared.mock.on(
      'a long output at 200 %',
      { kind: 'exec_command', cmd: 'seq 1 45' },
      { kind: 'text', text: 'ok' },
    )
    const long = await json<{ id: string }>(
      postJson(`${shared.gw.url}/v1/runs?wait=true`, {
        agent: 'codex',
        prompt: 'a long output at 200 %',
        sandbox: 'workspace-write',
      }),
    )
    const runs = await json<{ runs: { id: string }[] }>(fetch(`${shared.gw.url}/v1/runs?limit=2`))
    const sessions = await json<{ sessions: { id: string }[] }>(fetch(`${shared.gw.url}/v1/sessions`))
    const views = [
      '#/new',
      '#/runs',
      `#/runs/${long.id}`,
      ...runs.runs.filter((r) => r.id !== long.id).map((r) => `#/runs/${r.id}`),
      '#/sessions',
      `#/sessions/${sessions.sessions[0]!.id}`,
      '#/approvals',
      '#/agents',
    ]
    // one page (axe added once): each view loaded once, scanned in each scheme (the styles follow
    // prefers-color-scheme alone, web/src/styles.css)
    const page = await open()
    for (const view of views) {
      await page.goto(`${shared.gw.url}/${view}`)
      await page.locator('main h1').waitFor()
      await page.locator('[data-loaded]').waitFor()
      for (const scheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme: scheme })
        expect(await page.evaluate('matchMedia("(prefers-color-scheme: dark)").matches')).toBe(
          scheme === 'dark',
        )
        expect(await seriousA11yViolations(page), `${view} (${scheme})`).toEqual([])
      }
      // at 200 % zoom (a 1100 x 900 window: 550 x 450 CSS px, the phone's header): nothing sideways, cut or small
      await page.setViewportSize({ width: 550, height: 450 })
      expect(await phoneLayoutProblems(page), `${view} at 200 %`).toEqual([])
      await page.setViewportSize({ width: 1100, height: 900 })
    }
  })
})
