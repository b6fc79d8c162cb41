import type { Locator, Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import type { Session } from '../../src/protocol/sessions.js'
import {
  keyboardProblems,
  phoneLayoutProblems,
  screenshot,
  seriousA11yViolations,
} from '../support/browser.js'
import { consoleFixture, json, poll } from '../support/console-fixture.js'
import { postJson } from '../support/gateway.js'

/**
 * The header's height and how many rows its brand, Menu and the shown links sit on (their middles within 20 px
 * of one another: one row).
 */
const header = (page: Page) =>
  page.evaluate<{ height: number; rows: number }>(`(() => {
    const top = document.querySelector('header.top')
    const shown = [...top.querySelectorAll('.brand, button, nav a, .links a')].filter((el) => el.checkVisibility())
    return {
      height: Math.round(top.getBoundingClientRect().height),
      rows: shown
        .map((el) => { const box = el.getBoundingClientRect(); return box.top + box.height / 2 })
        .sort((a, b) => a - b)
        .filter((middle, i, all) => i === 0 || middle - all[i - 1] > 20).length,
    }
  })()`)

const focused = (page: Page) =>
  page.evaluate<string>('document.activeElement.dataset.nav ?? document.activeElement.textContent.trim()')

/** A tap 20 px below `panel`, at the screen's left edge (the view's margin: nothing there that a tap opens). */
async function tapBelow(page: Page, panel: Locator): Promise<void> {
  const box = await panel.boundingBox()
  if (!box) throw new Error('the panel is not shown')
  await page.touchscreen.tap(4, box.y + box.height + 20)
}

/**
 * A finger put down at (x, y), moved `dy` px in three steps and lifted, as touch input to Chromium (its gestures and
 * touch-action apply: a pan scrolls; playwright's touchscreen only taps).
 */
async function touchDrag(page: Page, x: number, y: number, dy: number): Promise<void> {
  const cdp = await page.context().newCDPSession(page)
  try {
    for (const step of [0, 1, 2, 3])
      await cdp.send('Input.dispatchTouchEvent', {
        type: step === 0 ? 'touchStart' : 'touchMove',
        touchPoints: [{ x, y: Math.round(y + (dy * step) / 3) }],
      })
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] })
  } finally {
    await cdp.detach()
  }
}

/** How Menu looks (what its computed style shows), and the contrast of its text on its own background. */
const menuLook = (page: Page) =>
  page.evaluate<{ look: string[]; contrast: number }>(`(() => {
    const style = getComputedStyle(document.querySelector('.menu-toggle'))
    const caret = getComputedStyle(document.querySelector('.menu-toggle'), '::after')
    const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number)
    const channel = (v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4
    const luminance = (c) => { const [r, g, b] = rgb(c).map(channel); return 0.2126 * r + 0.7152 * g + 0.0722 * b }
    const [light, dark] = [luminance(style.color), luminance(style.backgroundColor)].sort((a, b) => b - a)
    return {
      look: [style.backgroundColor, style.color, caret.transform],
      contrast: Math.round(((light + 0.05) / (dark + 0.05)) * 100) / 100,
    }
  })()`)

/** Where the view (main) and the menu's panel are, and the header's bottom, in the screen's coordinates. */
const places = (page: Page) =>
  page.evaluate<{
    main: number
    header: number
    panel: { top: number; bottom: number } | null
    scrollY: number
  }>(`(() => {
    const panel = document.getElementById('site-menu')
    const box = panel.checkVisibility() ? panel.getBoundingClientRect() : null
    return {
      main: document.querySelector('main').getBoundingClientRect().top,
      header: document.querySelector('header.top').getBoundingClientRect().bottom,
      panel: box && { top: box.top, bottom: box.bottom },
      scrollY,
    }
  })()`)

/**
 * Each of the panel's links and buttons scrolled to within the panel (nearest) and then looked for where it shows:
 * the ones another element (the session's bar) covers at their middle, or that lie outside the screen.
 */
const coveredItems = (page: Page) =>
  page.evaluate<string[]>(`(() => {
    const covered = []
    for (const el of document.querySelectorAll('#site-menu a, #site-menu button')) {
      el.scrollIntoView({ block: 'nearest' })
      const box = el.getBoundingClientRect()
      const x = box.left + box.width / 2
      const y = box.top + box.height / 2
      const at = y >= 0 && y < innerHeight ? document.elementFromPoint(x, y) : null
      if (!at || !el.contains(at)) covered.push(el.textContent.trim() + ' under ' + (at ? at.tagName.toLowerCase() + '.' + at.className : 'the screen'))
    }
    return covered
  })()`)

/**
 * The console's header on a phone, in real Chromium against the real server: one row (the brand and Menu), not
 * the sections and links on three rows above every view; Menu opens them (a disclosure a keyboard, a finger and a
 * screen reader use); every section and link still reached. At a desk, the one row it was, with no Menu.
 */
describe('web console: the header on a phone', { timeout: 120_000 }, () => {
  const { shared, open, phone } = consoleFixture({ AGENTS: 'codex' })

  for (const [width, height] of [
    [390, 844],
    [360, 740],
  ] as const)
    it(`at ${width} x ${height} with touch: one row; Menu opens the sections and links, Escape closes it and gives Menu the focus, a link followed closes it`, async () => {
      const page = await phone({ width, height })
      await page.goto(`${shared.gw.url}/#/runs`)
      await page.locator('[data-loaded]').waitFor()
      // (before: the brand, the sections on two rows and the links, 190 px of every view)
      expect(await header(page)).toEqual({ height: expect.any(Number), rows: 1 })
      expect((await header(page)).height).toBeLessThanOrEqual(64)
      const menu = page.getByRole('button', { name: 'Menu' })
      expect(await menu.getAttribute('aria-expanded')).toBe('false')
      const panel = page.locator(`#${await menu.getAttribute('aria-controls')}`)
      expect(await panel.isVisible()).toBe(false)
      expect(await page.getByRole('link', { name: 'Sessions' }).isVisible()).toBe(false)
      expect(await phoneLayoutProblems(page)).toEqual([])

      // tapped: every section and link, each a finger's target, in the menu the button controls
      await menu.tap()
      expect(await menu.getAttribute('aria-expanded')).toBe('true')
      for (const name of ['New run', 'History', 'Sessions', 'Approvals', 'Agents', 'API docs'])
        expect(await panel.getByRole('link', { name }).isVisible(), name).toBe(true)
      expect(await panel.getByRole('button', { name: 'OpenAPI' }).isVisible()).toBe(true)
      expect(await panel.getByRole('link', { name: 'History' }).getAttribute('aria-current')).toBe('page')
      expect(await phoneLayoutProblems(page)).toEqual([])
      expect(await seriousA11yViolations(page)).toEqual([])
      if (width === 390) await screenshot(page, 'header-phone-menu', { screen: true })
      // a tap on a section goes there and closes the menu; the focus is on the new view's heading
      await panel.getByRole('link', { name: 'Sessions' }).tap()
      await page.waitForURL(/#\/sessions$/)
      expect(await menu.getAttribute('aria-expanded')).toBe('false')
      expect(await panel.isVisible()).toBe(false)
      expect(await page.evaluate('document.activeElement.id')).toBe('sessions-title')
      // a tap elsewhere (below the panel, which covers the view's top) closes it too
      await menu.tap()
      await tapBelow(page, panel)
      await poll(() => menu.getAttribute('aria-expanded')).toBe('false')

      // by keyboard: Enter opens it, Tab goes on into it in the order shown, Escape closes it and Menu has the
      // focus again
      await menu.focus()
      await page.keyboard.press('Enter')
      expect(await menu.getAttribute('aria-expanded')).toBe('true')
      const order = []
      for (let i = 0; i < 7; i++) {
        await page.keyboard.press('Tab')
        order.push(await focused(page))
      }
      expect(order).toEqual(['new', 'runs', 'sessions', 'approvals', 'agents', 'API docs', 'OpenAPI'])
      await page.keyboard.press('Escape')
      expect(await menu.getAttribute('aria-expanded')).toBe('false')
      expect(await focused(page)).toBe('Menu')
      expect(await panel.isVisible()).toBe(false)
      // and on from Menu, closed: the view (the hidden links are not in the way)
      await page.keyboard.press('Tab')
      expect(await page.evaluate('Boolean(document.activeElement.closest("main"))')).toBe(true)
      await page.keyboard.press('Shift+Tab')
      await page.keyboard.press('Enter')
      await page.keyboard.press('Tab')
      await page.keyboard.press('Tab')
      await page.keyboard.press('Enter')
      await page.waitForURL(/#\/runs$/)
      expect(await menu.getAttribute('aria-expanded')).toBe('false')
      expect(await keyboardProblems(page)).toEqual([])
    })

  it("at 360 x 640 with touch: Menu looks open while open; its panel lies over the view (which stays put), above the session's bar, scrolling within itself on a short screen; a tap outside, an item, a new route and Tab past its end close it", async () => {
    const page = await phone({ width: 360, height: 640 })
    const session = await json<Session>(postJson(`${shared.gw.url}/v1/sessions`, {}))
    await page.goto(`${shared.gw.url}/#/sessions/${session.id}`)
    await page.locator('[data-loaded]').waitFor()
    await page.locator('.action-bar').waitFor()
    const menu = page.getByRole('button', { name: 'Menu' })
    const panel = page.locator('#site-menu')
    const closed = await places(page)
    const closedLook = await menuLook(page)

    // open: Menu looks pressed (before: only aria-expanded changed, nothing a sighted reader sees), its text as
    // readable as before on the filled button
    await menu.tap()
    expect(await menu.getAttribute('aria-expanded')).toBe('true')
    const openLook = await menuLook(page)
    expect(openLook.look[0]).not.toBe(closedLook.look[0])
    expect(openLook.look[1]).not.toBe(closedLook.look[1])
    expect(openLook.look[2]).not.toBe(closedLook.look[2])
    expect(openLook.contrast).toBeGreaterThanOrEqual(4.5)
    // laid over the view just under the header: the view does not move (before: pushed down by the panel's
    // height, and back up on closing)
    const opened = await places(page)
    expect(opened.main).toBe(closed.main)
    expect(opened.scrollY).toBe(closed.scrollY)
    expect(opened.panel?.top).toBeGreaterThanOrEqual(opened.header - 1)
    expect(opened.panel?.top).toBeLessThanOrEqual(opened.header + 1)
    expect(await coveredItems(page)).toEqual([])
    expect(await phoneLayoutProblems(page)).toEqual([])

    // a short screen (a phone's keyboard open, or held sideways): the panel scrolls within itself, every item
    // reachable there and none under the session's bar, which stays at the screen's bottom
    await page.setViewportSize({ width: 360, height: 300 })
    await poll(() => panel.evaluate((el) => el.scrollHeight > el.clientHeight)).toBe(true)
    expect((await places(page)).panel?.bottom).toBeLessThanOrEqual(300)
    expect(await coveredItems(page)).toEqual([])
    await page.setViewportSize({ width: 360, height: 640 })

    // a tap on the view outside closes it
    await tapBelow(page, panel)
    await poll(() => menu.getAttribute('aria-expanded')).toBe('false')
    expect(await panel.isVisible()).toBe(false)
    expect((await places(page)).main).toBe(closed.main)

    // the dark scheme: open, as legible (axe's contrast rules, the panel over the view included)
    await page.emulateMedia({ colorScheme: 'dark' })
    const darkClosed = await menuLook(page)
    await menu.tap()
    const dark = await menuLook(page)
    expect(dark.look[0]).not.toBe(darkClosed.look[0])
    expect(dark.contrast).toBeGreaterThanOrEqual(4.5)
    expect(await seriousA11yViolations(page)).toEqual([])

    // a new route in the same section (Back to the list from a session) closes it (before: it stayed open)
    await page.evaluate('location.hash = "#/sessions"')
    await page.locator('#sessions-title').waitFor()
    expect(await menu.getAttribute('aria-expanded')).toBe('false')
    // a session's date in the list whole on its line (one box: not split across two lines)
    await page.locator('.cards .when').first().waitFor()
    const lines = await page
      .locator('.cards .when')
      .evaluateAll((els) => els.map((el) => el.getClientRects().length))
    expect(new Set(lines)).toEqual(new Set([1]))

    // an item chosen: there, and closed
    await menu.tap()
    await panel.getByRole('link', { name: 'History' }).tap()
    await page.waitForURL(/#\/runs$/)
    expect(await menu.getAttribute('aria-expanded')).toBe('false')
    expect(await panel.isVisible()).toBe(false)

    // by keyboard: the panel next after Menu; Tab on past its last item closes it (the focus in the view it covered)
    await menu.focus()
    await page.keyboard.press('Enter')
    for (let i = 0; i < 7; i++) await page.keyboard.press('Tab')
    expect(await focused(page)).toBe('OpenAPI')
    expect(await menu.getAttribute('aria-expanded')).toBe('true')
    await page.keyboard.press('Tab')
    expect(await page.evaluate('Boolean(document.activeElement.closest("main"))')).toBe(true)
    expect(await menu.getAttribute('aria-expanded')).toBe('false')
  })

  it('at 390 x 844 with touch: a tap outside the open menu only closes it; what lies under the tap (a checkbox of the view, the brand) is not acted on', async () => {
    const page = await phone()
    await page.goto(`${shared.gw.url}/#/new`)
    await page.locator('[data-loaded]').waitFor()
    const menu = page.getByRole('button', { name: 'Menu' })
    const skipGit = page.getByLabel('Skip the git repository check')
    const checked = await skipGit.isChecked()
    // where the tap lands: the checkbox, below the open panel (it would be seen there)
    await menu.tap()
    const box = await skipGit.boundingBox()
    const panel = await page.locator('#site-menu').boundingBox()
    if (!box || !panel) throw new Error('the checkbox or the panel is not shown')
    expect(box.y).toBeGreaterThan(panel.y + panel.height)
    await page.touchscreen.tap(box.x + box.width / 2, box.y + box.height / 2)
    await poll(() => menu.getAttribute('aria-expanded')).toBe('false')
    // a tap on Menu after it: once it opened the menu again, the tap before it was wholly handled
    await menu.tap()
    await poll(() => menu.getAttribute('aria-expanded')).toBe('true')
    // (before: the tap closed the menu and went on to the checkbox, changed, with the focus)
    expect(await skipGit.isChecked()).toBe(checked)
    expect(await page.evaluate('document.activeElement.type ?? ""')).not.toBe('checkbox')

    // the header's row outside the menu: the brand, a link to New run, followed from History (before: it was)
    await page.evaluate('location.hash = "#/runs"')
    await page.locator('#history-title').waitFor()
    await menu.tap()
    const brand = await page.locator('.brand').boundingBox()
    if (!brand) throw new Error('the brand is not shown')
    await page.touchscreen.tap(brand.x + brand.width / 2, brand.y + brand.height / 2)
    await poll(() => menu.getAttribute('aria-expanded')).toBe('false')
    await menu.tap()
    await poll(() => menu.getAttribute('aria-expanded')).toBe('true')
    expect(await page.evaluate('location.hash')).toBe('#/runs')
    // a tap on Menu itself closes it
    await menu.tap()
    await poll(() => menu.getAttribute('aria-expanded')).toBe('false')
  })

  it("at 390 x 500 with touch: a drag over the open menu's backdrop scrolls the page and closes the menu, as a tap closes it; at 200 % zoom a mouse wheel does the same", async () => {
    const page = await phone({ width: 390, height: 500 })
    await page.goto(`${shared.gw.url}/#/new`)
    await page.locator('[data-loaded]').waitFor()
    expect(await page.evaluate('document.documentElement.scrollHeight > innerHeight + 200')).toBe(true)
    const menu = page.getByRole('button', { name: 'Menu' })
    const panel = page.locator('#site-menu')
    await menu.tap()
    await poll(() => menu.getAttribute('aria-expanded')).toBe('true')
    const below = await panel.boundingBox()
    if (!below) throw new Error('the panel is not shown')
    // a finger's drag upwards from under the panel, through Chromium's own touch input (touch-action applies): the
    // page scrolls as it would without the menu (before: touch-action none, it stayed put under the finger), and the
    // menu closes (the header it hangs from scrolls away); nothing under the finger is acted on
    await touchDrag(page, 20, below.y + below.height + 40, -150)
    await poll(() => page.evaluate('scrollY')).toBeGreaterThan(0)
    await poll(() => menu.getAttribute('aria-expanded')).toBe('false')
    expect(await page.evaluate('document.activeElement.closest("main") === null')).toBe(true)

    // 200 % zoom of a 1100 px window: the phone's header, with a mouse; the wheel over the backdrop scrolls the page
    // and closes the menu (before: the page scrolled, the menu open went up and away with the header)
    const zoomed = await open('#/new', { width: 550, height: 450 })
    await zoomed.locator('[data-loaded]').waitFor()
    const zoomedMenu = zoomed.getByRole('button', { name: 'Menu' })
    await zoomedMenu.click()
    await poll(() => zoomedMenu.getAttribute('aria-expanded')).toBe('true')
    const panelBox = await zoomed.locator('#site-menu').boundingBox()
    if (!panelBox) throw new Error('the panel is not shown')
    await zoomed.mouse.move(20, panelBox.y + panelBox.height + 40)
    await zoomed.mouse.wheel(0, 200)
    await poll(() => zoomed.evaluate('scrollY')).toBeGreaterThan(0)
    await poll(() => zoomedMenu.getAttribute('aria-expanded')).toBe('false')
  })

  it("at a desk: the sections and links on the header's one row, no Menu", async () => {
    const page = await open('#/runs')
    await page.locator('[data-loaded]').waitFor()
    expect(await page.getByRole('button', { name: 'Menu' }).isVisible()).toBe(false)
    for (const name of ['New run', 'History', 'Sessions', 'Approvals', 'Agents', 'API docs'])
      expect(await page.getByRole('link', { name }).isVisible(), name).toBe(true)
    expect((await header(page)).rows).toBe(1)
    // the agents table's headings whole (before: "Installe d", "Authenticat ed": main breaks words anywhere)
    await page.goto(`${shared.gw.url}/#/agents`)
    await page.locator('.agents-table tbody tr').first().waitFor()
    expect((await phoneLayoutProblems(page)).filter((p) => p.includes('broken across lines'))).toEqual([])
  })

  it("the viewport lets Chrome for Android's keyboard resize the layout, and the bar's limits follow the screen's height as it is then", async () => {
    const page = await open('#/new')
    // (before: width=device-width, initial-scale=1 only: the keyboard covered the bar at the screen's bottom)
    const viewport = await page.locator('meta[name=viewport]').getAttribute('content')
    expect(viewport?.split(/,\s*/)).toContain('interactive-widget=resizes-content')
    // the bar sticks to the layout's bottom (which the keyboard then moves up); its waiting approvals and message
    // box are limited in dynamic viewport units (vh: the screen without the keyboard, the bar taller than the rest)
    const limits = await page.evaluate<Record<string, string>>(`(() => {
      const found = {}
      for (const sheet of document.styleSheets)
        for (const rule of sheet.cssRules)
          if (rule.selectorText === '.action-bar' || rule.selectorText === '.action-bar .waiting' || rule.selectorText === '.compose textarea')
            found[rule.selectorText] = rule.style.position || rule.style.maxHeight
      return found
    })()`)
    expect(limits).toEqual({
      '.action-bar': 'sticky',
      '.action-bar .waiting': expect.stringMatching(/dvh$/),
      '.compose textarea': expect.stringMatching(/dvh$/),
    })
  })
})
