import { existsSync } from 'node:fs'
import path from 'node:path'
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import type { Session } from '../../src/protocol/sessions.js'
import { held } from '../mock-llm/index.js'
import { phoneLayoutProblems, screenshot } from '../support/browser.js'
import { consoleFixture, json, poll } from '../support/console-fixture.js'
import { startCuttingProxy } from '../support/cutting-proxy.js'
import { postJson } from '../support/gateway.js'

/** Thirty paragraphs: an answer several screens long on a phone. */
const longAnswer = (name: string) =>
  Array.from(
    { length: 12 },
    (_, i) => `${name} paragraph ${i + 1}: ${'lorem ipsum dolor sit amet '.repeat(5)}`,
  ).join('\n\n')

/** How far the page is from its end (0: scrolled to the end). */
const fromEnd = (page: Page) =>
  page.evaluate<number>('Math.round(document.documentElement.scrollHeight - innerHeight - scrollY)')

/** Whether the element `selector` names lies wholly within the screen (not scrolled away, not under the bar). */
const onScreen = (page: Page, selector: string) =>
  page.evaluate<boolean>(`(() => {
    const box = document.querySelector(${JSON.stringify(selector)}).getBoundingClientRect()
    return box.height > 0 && box.top >= 0 && box.bottom <= innerHeight
  })()`)

/** The top of the action bar, and the bottom of the last block above it, in the screen's coordinates. */
const barAndLast = (page: Page) =>
  page.evaluate<{ bar: number; last: number }>(`(() => {
    const blocks = document.querySelectorAll('.conversation .block')
    return {
      bar: document.querySelector('.action-bar').getBoundingClientRect().top,
      last: blocks[blocks.length - 1].getBoundingClientRect().bottom,
    }
  })()`)

/** The focused element's id, else (to tell where the focus went) its tag and text, e.g. "BUTTON:Accept". */
const focusedId = (page: Page) =>
  page.evaluate<string>(
    '(e => e.id || e.tagName + ":" + e.textContent.slice(0, 30))(document.activeElement ?? document.body)',
  )

/**
 * How much of the screen shows the conversation (between the screen's top, or the conversation's, and the bar's
 * top), in px.
 */
const conversationShown = (page: Page) =>
  page.evaluate<number>(`(() => {
    const bar = document.querySelector('.action-bar').getBoundingClientRect()
    const conversation = document.querySelector('.conversation').getBoundingClientRect()
    return Math.round(Math.min(bar.top, conversation.bottom) - Math.max(0, conversation.top))
  })()`)

/** The message box's height, in px. */
const boxHeight = (page: Page) =>
  page.evaluate<number>('document.getElementById("turn-input").getBoundingClientRect().height')

/**
 * How many elements show "reconnecting" (shown: rendered, and not visually hidden as a 1 x 1 px .sr-only is),
 * on the screen or scrolled away.
 */
const shownReconnecting = (page: Page) =>
  page.evaluate<number>(`[...document.querySelectorAll('body *')].filter((el) => {
    const box = el.getBoundingClientRect()
    const says = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.data.includes('reconnecting'))
    return says && el.checkVisibility() && box.width > 1 && box.height > 1
  }).length`)

/**
 * A long session in the console as a person uses it, on a phone and at a desk, in real Chromium against the real
 * server running the real codex and the mock model: the view follows new output while they are at its end and
 * stays put when they scrolled up; the message box, Send, Interrupt and the approvals waiting stay on the screen;
 * the focus stays where a keyboard can go on from.
 */
describe('web console: a long session', { timeout: 120_000 }, () => {
  const { shared, open, blank, phone } = consoleFixture({ AGENTS: 'codex' })

  it('on a phone: the view follows the streamed answer while at its end, stays put (with "New output") when scrolled up; the message box, Send, Interrupt and an approval stay on the screen', async () => {
    const page = await phone()
    const session = await json<Session>(
      postJson(`${shared.gw.url}/v1/sessions`, { approvalPolicy: 'untrusted', sandbox: 'workspace-write' }),
    )
    shared.mock.on('the first long answer', { kind: 'text', text: longAnswer('First'), deltas: true })
    shared.mock.on('the second long answer', { kind: 'text', text: longAnswer('Second'), deltas: true })
    shared.mock.on(
      'write after asking',
      { kind: 'exec_command', cmd: 'echo yes > asked-on-the-phone.txt' },
      { kind: 'text', text: 'wrote it after asking' },
    )
    await page.goto(`${shared.gw.url}/#/sessions/${session.id}`)
    await page.locator('[data-loaded]').waitFor()
    // The message box is one line until it is focused, then two (before: two lines and more, its placeholder
    // saying Ctrl+Enter, a key a phone's keyboard lacks, on two)
    const oneLine = await boxHeight(page)
    expect(oneLine).toBeLessThanOrEqual(44)
    expect(await page.getByLabel('Message').getAttribute('placeholder')).toBe('Message the agent')
    await page.getByLabel('Message').tap()
    expect(await boxHeight(page)).toBeGreaterThan(oneLine)
    await page.getByLabel('Message').fill('the first long answer please')
    await page.getByRole('button', { name: 'Send' }).tap()
    const turns = page.locator('.turn')
    await poll(() => turns.nth(0).textContent()).toContain('First paragraph 12')
    await poll(() => page.getByTestId('session-status').textContent()).toBe('idle')
    // The answer grew the page by screens while it streamed: the view went with it (before: it stayed at the
    // top, the answer's end and the message box thousands of pixels down). Its end shows above the bar.
    expect(await fromEnd(page)).toBe(0)
    const { bar, last } = await barAndLast(page)
    expect(last).toBeLessThanOrEqual(bar)
    expect(await onScreen(page, '#turn-input')).toBe(true)
    // an answer's paragraphs stand apart (before: one wall of text, `.block p` had no margins)
    const gap = await page.evaluate<number>(`(() => {
      const [a, b] = document.querySelectorAll('.conversation .message p')
      return b.getBoundingClientRect().top - a.getBoundingClientRect().bottom
    })()`)
    expect(gap).toBeGreaterThan(0)

    // Scrolled back up to read: new output does not take the reader away; a button says there is some.
    await page.evaluate('window.scrollTo(0, 0)')
    const actionBar = page.locator('.action-bar')
    await poll(() => actionBar.getAttribute('data-following')).toBe('false')
    // the message box and Send are on the screen at the session's top too (before: at its very end); idle, the bar
    // is their one row: Interrupt and While busy, which do nothing then, are not shown (before: two rows more)
    for (const control of ['#turn-input', '.compose button[type=submit]'])
      expect(await onScreen(page, control), control).toBe(true)
    expect(await page.getByRole('button', { name: 'Interrupt' }).isVisible()).toBe(false)
    expect(await page.getByLabel('While busy').isVisible()).toBe(false)
    await postJson(`${shared.gw.url}/v1/sessions/${session.id}/turns`, {
      input: 'the second long answer please',
    })
    await poll(() => turns.nth(1).textContent()).toContain('Second paragraph 12')
    expect(await page.evaluate('scrollY')).toBe(0)
    const newOutput = page.getByRole('button', { name: 'New output' })
    expect(await newOutput.isVisible()).toBe(true)
    await newOutput.tap()
    expect(await fromEnd(page)).toBe(0)
    await poll(() => newOutput.count()).toBe(0)
    // the button went: the focus is on the newest output (a screen reader reads it), not on the page's top
    expect(await page.evaluate('document.activeElement.matches(".conversation .block")')).toBe(true)
    expect(await page.evaluate('document.activeElement.textContent')).toContain('completed')

    // An approval asked while the reader is at the session's top: its answers are on the screen, not at the end.
    await page.evaluate('window.scrollTo(0, 0)')
    await poll(() => actionBar.getAttribute('data-following')).toBe('false')
    await postJson(`${shared.gw.url}/v1/sessions/${session.id}/turns`, { input: 'write after asking' })
    const waiting = page.getByRole('list', { name: 'Waiting for your answer' })
    const accept = waiting.getByRole('button', { name: 'Accept', exact: true })
    await accept.waitFor()
    expect(await onScreen(page, '.waiting .approval .actions button')).toBe(true)
    // busy: Interrupt is there too, beside Send
    expect(await onScreen(page, '.compose .actions button')).toBe(true)
    expect(await page.evaluate('scrollY')).toBe(0)
    expect(await phoneLayoutProblems(page)).toEqual([])
    await screenshot(page, 'session-phone', { screen: true })
    // At the session's end, the conversation keeps most of the screen: the approval is its command on one line
    // and its answers on another, above the message box's one line (before: its whole card, the message box's two
    // lines, Send over Interrupt and While busy took 503 px of 844, the conversation 341)
    await page.evaluate('window.scrollTo(0, document.documentElement.scrollHeight)')
    expect(await conversationShown(page)).toBeGreaterThanOrEqual(500)
    // the phone held sideways (844 x 390): the same few rows (before: the bar took 281 px of 390, leaving 109)
    await page.setViewportSize({ width: 844, height: 390 })
    await page.evaluate('window.scrollTo(0, document.documentElement.scrollHeight)')
    expect(await conversationShown(page)).toBeGreaterThanOrEqual(180)
    expect(await phoneLayoutProblems(page)).toEqual([])
    // a narrow phone (360 x 740): the three answers still in one row (before: Decline on a row of its own)
    await page.setViewportSize({ width: 360, height: 740 })
    const answerRows = await page.evaluate<number>(
      `new Set([...document.querySelectorAll('.waiting .approval .actions button')].map((b) => Math.round(b.getBoundingClientRect().top))).size`,
    )
    expect(answerRows).toBe(1)
    expect(await phoneLayoutProblems(page)).toEqual([])
    await page.setViewportSize({ width: 390, height: 844 })
    await page.evaluate('window.scrollTo(0, document.documentElement.scrollHeight)')
    // the rest (where, why) a tap away
    const asked = waiting.locator('.approval summary')
    expect(await asked.textContent()).toContain('asked-on-the-phone.txt')
    expect(await waiting.getByText(session.cwd, { exact: true }).isVisible()).toBe(false)
    await asked.tap()
    expect(await waiting.getByText(session.cwd, { exact: true }).isVisible()).toBe(true)
    expect(await phoneLayoutProblems(page)).toEqual([])
    await accept.tap()
    await poll(() => turns.nth(2).textContent()).toContain('wrote it after asking')
    expect(existsSync(path.join(session.cwd, 'asked-on-the-phone.txt'))).toBe(true)
    expect(await phoneLayoutProblems(page)).toEqual([])
  })

  it('on a phone: a tap on an answer or Interrupt does not open the keyboard (the bar has the focus, not the message box); the While busy choice reads whole; a reconnect shows at the bottom', async () => {
    const proxy = await startCuttingProxy(shared.gw.url)
    try {
      const page = await phone()
      const session = await json<Session>(
        postJson(`${shared.gw.url}/v1/sessions`, { approvalPolicy: 'untrusted', sandbox: 'workspace-write' }),
      )
      shared.mock.on('a long answer on the phone', { kind: 'text', text: longAnswer('Phone') })
      shared.mock.on(
        'ask on the phone',
        { kind: 'exec_command', cmd: 'echo yes > tapped-accept.txt' },
        { kind: 'text', text: 'wrote it after the tap' },
      )
      // the session's stream through a proxy that can drop it; its reconnection held while `holding`
      const eventsUrl = `${proxy.url}/v1/sessions/${session.id}/events`
      let holding = false
      const reconnections: { fallback(): Promise<void> }[] = []
      await page.route(eventsUrl, (route) => (holding ? void reconnections.push(route) : route.fallback()))
      await page.goto(`${proxy.url}/#/sessions/${session.id}`)
      await page.locator('[data-loaded]').waitFor()
      const message = page.getByLabel('Message')
      await message.fill('a long answer on the phone')
      // Send tapped: the box keeps the focus (its keyboard was open for what was typed; more may follow)
      await page.getByRole('button', { name: 'Send' }).tap()
      await poll(() => message.inputValue()).toBe('')
      await poll(() => focusedId(page)).toBe('turn-input')
      await poll(() => page.locator('.turn').first().textContent()).toContain('Phone paragraph 12')
      await poll(() => page.getByTestId('session-status').textContent()).toBe('idle')
      await page.evaluate('document.activeElement.blur()')

      // An approval answered with a tap: its card goes, and the focus goes to the bar, not to the message box,
      // whose on-screen keyboard would cover half the screen as the agent goes on (before: the message box)
      await postJson(`${shared.gw.url}/v1/sessions/${session.id}/turns`, { input: 'ask on the phone' })
      const accept = page
        .getByRole('list', { name: 'Waiting for your answer' })
        .getByRole('button', { name: 'Accept', exact: true })
      await accept.waitFor()
      // busy, While busy shows once a message is written (not on the box's focus), its choice "steer the running
      // turn" whole (before: "steer the runn", squeezed beside Interrupt); the bar still fits the phone
      const whileBusy = page.getByLabel('While busy')
      await message.tap()
      expect(await whileBusy.isVisible()).toBe(false)
      await message.fill('steer it')
      expect(await whileBusy.isVisible()).toBe(true)
      await whileBusy.selectOption('steer')
      expect(await phoneLayoutProblems(page)).toEqual([])
      await whileBusy.selectOption('queue')
      await message.fill('')
      await page.evaluate('document.activeElement.blur()')
      // the request in the turn says where it is answered: right below, not "in the inbox" (another view)
      expect(await page.locator('.conversation').getByTestId('answer-below').count()).toBe(1)
      expect(await page.locator('.conversation').getByRole('link', { name: /inbox/ }).count()).toBe(0)
      await accept.tap()
      await poll(() => accept.count()).toBe(0)
      const focusIsBar = () => page.evaluate<boolean>('document.activeElement.matches(".action-bar")')
      await poll(focusIsBar).toBe(true)
      await poll(() => page.locator('.turn').nth(1).textContent()).toContain('wrote it after the tap')
      expect(existsSync(path.join(session.cwd, 'tapped-accept.txt'))).toBe(true)
      await poll(() => page.getByTestId('session-status').textContent()).toBe('idle')

      // Interrupt tapped: once the turn ended, the bar has the focus, not the message box
      const slow = held({ kind: 'text', text: 'never finished on the phone' })
      shared.mock.script(slow.step)
      await postJson(`${shared.gw.url}/v1/sessions/${session.id}/turns`, {
        input: 'a turn to interrupt by tap',
      })
      await slow.asked
      const interrupt = page.getByRole('button', { name: 'Interrupt' })
      await poll(() => interrupt.isEnabled()).toBe(true)
      await interrupt.tap()
      // idle again: Interrupt goes from a phone's bar (at a desk it is disabled), the bar has the focus
      await poll(() => page.getByTestId('session-status').textContent()).toBe('idle')
      await poll(() => interrupt.count()).toBe(0)
      await poll(focusIsBar).toBe(true)
      slow.release()

      // The stream drops while the reader is at the end, the toolbar's "live" scrolled away: the bar says it
      // reconnects (before: only the toolbar at the top did), not read out a second time (aria-hidden: the
      // toolbar's status region says it)
      await page.evaluate('window.scrollTo(0, document.documentElement.scrollHeight)')
      expect(await onScreen(page, '[data-testid=stream-state]')).toBe(false)
      const barState = page.getByTestId('bar-stream-state')
      expect(await barState.count()).toBe(0)
      holding = true
      proxy.cut()
      await poll(() => page.getByTestId('stream-state').textContent()).toBe('reconnecting')
      await barState.waitFor()
      expect(await onScreen(page, '[data-testid=bar-stream-state]')).toBe(true)
      expect(await barState.textContent()).toContain('reconnecting')
      expect(await barState.getAttribute('aria-hidden')).toBe('true')
      expect(await page.getByRole('status').filter({ hasText: 'reconnecting' }).count()).toBe(1)
      // said on the page once: the toolbar's, scrolled away, is visually hidden meanwhile (before: shown too)
      expect(await shownReconnecting(page)).toBe(1)
      expect(await phoneLayoutProblems(page)).toEqual([])
      await screenshot(page, 'session-phone-reconnecting', { screen: true })
      holding = false
      for (const route of reconnections.splice(0)) await route.fallback().catch(() => {})
      await poll(() => page.getByTestId('stream-state').textContent()).toBe('live')
      await poll(() => barState.count()).toBe(0)
    } finally {
      await proxy.close()
    }
  })

  it('at a desk: a dropped stream shows "reconnecting" once, in the bar at the screen\'s bottom, and says it once to a screen reader', async () => {
    const proxy = await startCuttingProxy(shared.gw.url)
    try {
      const session = await json<Session>(postJson(`${shared.gw.url}/v1/sessions`, {}))
      const page = await blank()
      let holding = false
      const reconnections: { fallback(): Promise<void> }[] = []
      await page.route(`${proxy.url}/v1/sessions/${session.id}/events`, (route) =>
        holding ? void reconnections.push(route) : route.fallback(),
      )
      await page.goto(`${proxy.url}/#/sessions/${session.id}`)
      await page.locator('[data-loaded]').waitFor()
      const toolbarState = page.getByTestId('stream-state')
      await poll(() => toolbarState.textContent()).toBe('live')
      holding = true
      proxy.cut()
      await poll(() => toolbarState.textContent()).toBe('reconnecting')
      await page.getByTestId('bar-stream-state').waitFor()
      // (before: the toolbar's "reconnecting" and the bar's, both on the screen)
      expect(await shownReconnecting(page)).toBe(1)
      expect(await onScreen(page, '[data-testid=bar-stream-state]')).toBe(true)
      // one live region says it; the bar's note is not read out again
      expect(await page.getByRole('status').filter({ hasText: 'reconnecting' }).count()).toBe(1)
      expect(await page.getByTestId('bar-stream-state').getAttribute('aria-hidden')).toBe('true')
      holding = false
      for (const route of reconnections.splice(0)) await route.fallback().catch(() => {})
      // back: the toolbar shows "live" again, the bar's note goes
      await poll(() => toolbarState.textContent()).toBe('live')
      expect(await onScreen(page, '[data-testid=stream-state]')).toBe(true)
      expect(await page.getByTestId('bar-stream-state').count()).toBe(0)
    } finally {
      await proxy.close()
    }
  })

  /** A session's view on a phone (390 x 844, touch) while a turn runs (held until `release`). */
  async function busyOnAPhone() {
    const page = await phone()
    const session = await json<Session>(postJson(`${shared.gw.url}/v1/sessions`, {}))
    await page.goto(`${shared.gw.url}/#/sessions/${session.id}`)
    await page.locator('[data-loaded]').waitFor()
    const slow = held({ kind: 'text', text: 'still going on the phone' })
    shared.mock.script(slow.step)
    await postJson(`${shared.gw.url}/v1/sessions/${session.id}/turns`, { input: 'a long turn on the phone' })
    await slow.asked
    const interrupt = page.getByRole('button', { name: 'Interrupt' })
    await poll(() => interrupt.isEnabled()).toBe(true)
    return { page, release: slow.release }
  }

  it('on a phone while busy: Tab goes as the eye does (the box, Send, Interrupt beside them, then While busy below)', async () => {
    const { page, release } = await busyOnAPhone()
    // a message written: While busy shows, in the row below Interrupt; Tab goes box, Send, Interrupt, While busy
    // (before: box, Send, While busy, Interrupt: up again to the row above, WCAG 2.4.3)
    const message = page.getByLabel('Message')
    await message.fill('and then this')
    await page.getByLabel('While busy').waitFor()
    const top = (selector: string) =>
      page.evaluate<number>(
        `Math.round(document.querySelector(${JSON.stringify(selector)}).getBoundingClientRect().top)`,
      )
    expect(await top('.compose .busy-choice')).toBeGreaterThan(await top('.compose .actions button'))
    await message.focus()
    const order = [] as string[]
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('Tab')
      order.push(
        await page.evaluate<string>(
          'document.activeElement.closest("label")?.firstChild.textContent.trim() ?? document.activeElement.textContent.trim()',
        ),
      )
    }
    expect(order).toEqual(['Send', 'Interrupt', 'While busy'])
    release()
    await poll(() => page.getByTestId('session-status').textContent()).toBe('idle')
  })

  it("on a phone while busy: the message box's placeholder reads whole beside Send and Interrupt, at 390 and 360 px", async () => {
    const { page, release } = await busyOnAPhone()
    // the box's placeholder whole beside Send and Interrupt, at 390 and at 360 (before: "Message the age" at 360)
    const placeholderFits = () =>
      page.evaluate<{ room: number; needs: number }>(`(() => {
        const box = document.getElementById('turn-input')
        const style = getComputedStyle(box)
        const text = document.createElement('canvas').getContext('2d')
        text.font = style.font
        return {
          room: box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight),
          needs: Math.ceil(text.measureText(box.placeholder).width),
        }
      })()`)
    for (const width of [390, 360]) {
      await page.setViewportSize({ width, height: width === 360 ? 740 : 844 })
      const { room, needs } = await placeholderFits()
      expect(needs, `the placeholder at ${width} px`).toBeLessThanOrEqual(room)
      expect(await phoneLayoutProblems(page)).toEqual([])
    }
    release()
    await poll(() => page.getByTestId('session-status').textContent()).toBe('idle')
  })

  it('a run: a dropped stream shows "reconnecting" once, in the bar beside Cancel run, and says it once to a screen reader', async () => {
    const proxy = await startCuttingProxy(shared.gw.url)
    try {
      const slow = held({ kind: 'text', text: 'a run that takes its time' })
      shared.mock.script(slow.step)
      const run = await json<{ id: string }>(
        postJson(`${shared.gw.url}/v1/runs`, { agent: 'codex', prompt: 'a slow run to reconnect to' }),
      )
      await slow.asked
      const page = await blank()
      let holding = false
      const reconnections: { fallback(): Promise<void> }[] = []
      await page.route(`${proxy.url}/v1/runs/${run.id}/events*`, (route) =>
        holding ? void reconnections.push(route) : route.fallback(),
      )
      await page.goto(`${proxy.url}/#/runs/${run.id}`)
      await page.locator('[data-loaded]').waitFor()
      const toolbarState = page.getByTestId('stream-state')
      await poll(() => toolbarState.textContent()).toBe('live')
      await poll(() => page.getByTestId('run-status').textContent()).toBe('running')
      const barState = page.getByTestId('bar-stream-state')
      expect(await barState.count()).toBe(0)
      holding = true
      proxy.cut()
      await poll(() => toolbarState.textContent()).toBe('reconnecting')
      await barState.waitFor()
      // shown once, at the bar with Cancel run (the toolbar's visually hidden meanwhile), read out once
      expect(await shownReconnecting(page)).toBe(1)
      expect(await onScreen(page, '[data-testid=bar-stream-state]')).toBe(true)
      expect(await page.getByRole('button', { name: 'Cancel run' }).isVisible()).toBe(true)
      expect(await page.getByRole('status').filter({ hasText: 'reconnecting' }).count()).toBe(1)
      expect(await barState.getAttribute('aria-hidden')).toBe('true')
      holding = false
      for (const route of reconnections.splice(0)) await route.fallback().catch(() => {})
      await poll(() => toolbarState.textContent()).toBe('live')
      expect(await barState.count()).toBe(0)
      expect(await onScreen(page, '[data-testid=stream-state]')).toBe(true)
      slow.release()
      await poll(() => page.getByTestId('run-status').textContent()).toBe('succeeded')
    } finally {
      await proxy.close()
    }
  })

  it('the focus stays where a keyboard goes on: in the message box after Send, after an approval is answered, after Interrupt', async () => {
    const session = await json<Session>(
      postJson(`${shared.gw.url}/v1/sessions`, { approvalPolicy: 'untrusted', sandbox: 'workspace-write' }),
    )
    shared.mock.on(
      'ask before writing',
      { kind: 'exec_command', cmd: 'echo yes > asked-at-the-desk.txt' },
      { kind: 'text', text: 'wrote it at the desk' },
    )
    const page = await open(`#/sessions/${session.id}`)
    await page.locator('[data-loaded]').waitFor()
    const message = page.getByLabel('Message')
    await message.fill('ask before writing')
    // Send clicked: once sent, the box is cleared and Send disabled (before: the focus went to the page's top)
    await page.getByRole('button', { name: 'Send' }).click()
    await poll(() => message.inputValue()).toBe('')
    await poll(() => focusedId(page)).toBe('turn-input')
    // a message sent while an approval waits (queued behind the turn): the card does not take the focus from the
    // box (before: Send's rescue gave it to the card's Accept, as when a card comes in first on a slow machine)
    const accept = page
      .getByRole('list', { name: 'Waiting for your answer' })
      .getByRole('button', { name: 'Accept', exact: true })
    await accept.waitFor()
    await message.fill('queued behind the approval')
    await page.getByRole('button', { name: 'Send' }).click()
    await poll(() => message.inputValue()).toBe('')
    await poll(() => focusedId(page)).toBe('turn-input')
    // an approval answered with the keyboard: its card goes, the focus comes back to the message box
    await accept.focus()
    await page.keyboard.press('Enter')
    await poll(() => accept.count()).toBe(0)
    await poll(() => focusedId(page)).toBe('turn-input')
    await poll(() => page.locator('.turn').first().textContent()).toContain('wrote it at the desk')
    await poll(() => page.locator('.turn').nth(1).textContent()).toContain('completed')
    await poll(() => page.getByTestId('session-status').textContent()).toBe('idle')

    // Interrupt pressed: the turn ends, Interrupt is disabled, the focus goes to the message box
    const slow = held({ kind: 'text', text: 'never finished' })
    shared.mock.script(slow.step)
    await message.fill('a turn to interrupt')
    await message.press('Control+Enter')
    await slow.asked
    const interrupt = page.getByRole('button', { name: 'Interrupt' })
    await poll(() => interrupt.isEnabled()).toBe(true)
    await interrupt.focus()
    await page.keyboard.press('Enter')
    await poll(() => page.locator('.turn').nth(2).textContent()).toContain('interrupted')
    await poll(() => interrupt.isDisabled()).toBe(true)
    await poll(() => focusedId(page)).toBe('turn-input')
    slow.release()
  })
})
