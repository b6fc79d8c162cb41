import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import type { Turn } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { ensureConsoleBuilt, launchChromium } from './browser.js'
import { startGateway, type TestGateway } from './gateway.js'

/** Waits for what the page shows (the page updates from events; nothing here sleeps). */
export const poll = <T>(read: () => Promise<T> | T) => expect.poll(read, { timeout: 30_000, interval: 100 })

export const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T

const desktop = { width: 1100, height: 900 }

/**
 * One Chromium for a test file, launched by the first of its fixtures that needs it and closed after the file
 * (a file with two gateways, console-agents.test.ts, starts one browser, not two). Call once at a file's top level,
 * before its describes; pass it to each consoleFixture.
 */
export function fileChromium(): () => Browser {
  let browser: Browser | undefined
  beforeAll(async () => {
    browser = await launchChromium()
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
  })
  return () => browser!
}

/**
 * The web console's test files (test/browser): the console built, one Chromium for the file, a mock model and a
 * gateway with `settings` in the worker's process. The cases share one tab (a new tab's renderer cost 2-3 s of
 * CPU; a new document in the same tab 0.5 s): `open` loads a new document in it with nothing of an earlier one
 * (its sessionStorage and localStorage cleared, the routes, `request` listeners and color scheme a case set
 * removed, the other tabs of its context closed), and so does the end of each case. A case that needs a context
 * of its own (touch, another token) opens it and pushes it to `contexts` (closed after the case). Call once inside
 * a file's describe; `chromium` (fileChromium) when the file has another fixture, else the fixture launches its own.
 */
export function consoleFixture(
  settings: Record<string, string> | ((mock: MockLlm) => Record<string, string>),
  chromium?: () => Browser,
) {
  const shared = {} as { mock: MockLlm; gw: TestGateway; browser: Browser }
  const contexts: BrowserContext[] = []
  let tab: Page | undefined
  let own: Browser | undefined
  beforeAll(async () => {
    ensureConsoleBuilt()
    // Chromium starts while the gateway does
    const [browser, mock] = await Promise.all([chromium ? chromium() : launchChromium(), startMockLlm()])
    if (!chromium) own = browser
    shared.browser = browser
    shared.mock = mock
    shared.gw = await startGateway(mock, typeof settings === 'function' ? settings(mock) : settings)
  }, 60_000)
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close()
    if (tab) await blankTab(tab)
    shared.mock.reset()
  })
  afterAll(async () => {
    await tab?.context().close()
    await own?.close()
    await shared.gw?.close()
    await shared.mock?.close()
  })

  /** The tab on a blank document with nothing a case left (what a new tab in a new context would be). */
  async function blankTab(page: Page): Promise<void> {
    for (const other of page.context().pages()) if (other !== page) await other.close()
    await page.unrouteAll({ behavior: 'ignoreErrors' })
    page.removeAllListeners('request')
    if (page.url().startsWith('http'))
      await page.evaluate('sessionStorage.clear(); localStorage.clear()').catch(() => {})
    // leaving the document closes its streams, as closing its context did
    await page.goto('about:blank')
    await page.emulateMedia({ colorScheme: 'light' })
  }

  /**
   * The file's tab on a blank document (a case adds its listeners or routes, then goes where it tests), `viewport`
   * wide. Called again in a case it leaves the document that case had open: the earlier page object is this one.
   */
  async function blank(viewport = desktop): Promise<Page> {
    if (!tab) tab = await (await shared.browser.newContext({ viewport })).newPage()
    else if (tab.url() !== 'about:blank') await blankTab(tab)
    await tab.setViewportSize(viewport)
    return tab
  }

  /** The file's tab (see `blank`) on the console's `hash` view. */
  async function open(hash = '', viewport = desktop): Promise<Page> {
    const page = await blank(viewport)
    await page.goto(`${shared.gw.url}/${hash}`)
    return page
  }

  /** The session's turn once it ended. */
  async function waitForTurn(sessionId: string, turnId: string): Promise<Turn> {
    for (;;) {
      const s = await json<{ turns: Turn[] }>(fetch(`${shared.gw.url}/v1/sessions/${sessionId}`))
      const t = s.turns.find((x) => x.id === turnId)
      if (t && ['completed', 'failed', 'interrupted'].includes(t.status)) return t
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  /** `contexts`: a context a case opens itself, pushed here, is closed after it. */
  return { shared, contexts, open, blank, waitForTurn }
}
