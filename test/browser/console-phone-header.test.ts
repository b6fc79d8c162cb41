import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import {
  keyboardProblems,
  phoneLayoutProblems,
  screenshot,
  seriousA11yViolations,
} from '../support/browser.js'
import { consoleFixture } from '../support/console-fixture.js'

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

/**
 * The console's header on a phone, in real Chromium against the real server: one row (the brand and Menu), not
 * the sections and links on three rows above every view; Menu opens them (a disclosure a keyboard, a finger and a
 * screen reader use); every section and link still reached. At a desk, the one row it was, with no Menu.
 */
describe('web console: the header on a phone', { timeout: 120_000 }, () => {
  const { shared, contexts, open } = consoleFixture({ AGENTS: 'codex' })

  for (const [width, height] of [
    [390, 844],
    [360, 740],
  ] as const)
    it(`at ${width} x ${height} with touch: one row; Menu opens the sections and links, Escape closes it and gives Menu the focus, a link followed closes it`, async () => {
      const context = await shared.browser.newContext({
        viewport: { width, height },
        hasTouch: true,
        isMobile: true,
      })
      contexts.push(context)
      const page = await context.newPage()
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
      // a tap elsewhere closes it too
      await menu.tap()
      await page.locator('main h1').tap()
      expect(await menu.getAttribute('aria-expanded')).toBe('false')

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

  it("at a desk: the sections and links on the header's one row, no Menu", async () => {
    const page = await open('#/runs')
    await page.locator('[data-loaded]').waitFor()
    expect(await page.getByRole('button', { name: 'Menu' }).isVisible()).toBe(false)
    for (const name of ['New run', 'History', 'Sessions', 'Approvals', 'Agents', 'API docs'])
      expect(await page.getByRole('link', { name }).isVisible(), name).toBe(true)
    expect((await header(page)).rows).toBe(1)
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
