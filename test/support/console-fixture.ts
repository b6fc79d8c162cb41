import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import type { Turn } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { ensureConsoleBuilt, launchChromium } from './browser.js'
import { gatewayModules, startGateway, type TestGateway } from './gateway.js'

/** Waits for what the page shows (the page updates from events; nothing here sleeps). */
export const poll = <T>(read: () => Promise<T> | T) => expect.poll(read, { timeout: 30_000, interval: 100 })

export const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T

const desktop = { width: 1100, height: 900 }

/** A test file's Chromium and the one tab its cases share (made when a case first asks for it). */
export interface FileChromium {
  browser: Browser
  tab?: Page
}

/**
 * One Chromium and one tab for a test file with more than one fixture (console-agents.test.ts: two gateways, one
 * browser and one tab, not two), closed after the file. Call once at the file's top level, before its describes;
 * pass it to each consoleFixture.
 */
export function fileChromium(): FileChromium {
  const file = {} as FileChromium
  beforeAll(async () => {
    file.browser = await launchChromium()
  }, 60_000)
  afterAll(async () => {
    await file.browser?.close()
  })
  return file
}

/**
 * The web console's test files (test/browser): the console built, one Chromium for the file, a mock model and a
 * gateway with `settings` in the worker's process. The cases share one tab (a new tab's renderer cost 2-3 s of
 * CPU; a new document in the same tab 0.5 s): `open` loads a new document in it with nothing of an earlier one
 * (its sessionStorage and localStorage cleared, the routes, `request` listeners and color scheme a case set
 * removed, the other tabs of its context closed), and so does the end of each case. A case that needs a context
 * of its own (touch: `phone`) opens it and pushes it to `contexts` (closed after the case). Call once inside a file's
 * describe, with `chromium` (fileChromium) when the file has another fixture; else it launches its own.
 */
export function consoleFixture(
  settings: Record<string, string> | ((mock: MockLlm) => Record<string, string>),
  chromium?: FileChromium,
) {
  const shared = {} as { mock: MockLlm; gw: TestGateway; browser: Browser }
  const contexts: BrowserContext[] = []
  const file = chromium ?? ({} as FileChromium)
  gatewayModules()
  beforeAll(async () => {
    ensureConsoleBuilt()
    // Chromium starts while the gateway does
    const [browser, mock] = await Promise.all([file.browser ?? launchChromium(), startMockLlm()])
    file.browser = browser
    shared.browser = browser
    shared.mock = mock
    shared.gw = await startGateway(mock, typeof settings === 'function' ? settings(mock) : settings)
  }, 60_000)
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close()
    if (file.tab) await blankTab(file.tab)
    shared.mock.reset()
  })
  afterAll(async () => {
    if (!chromium) await file.browser?.close()
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
    file.tab ??= await (await shared.browser.newContext({ viewport })).newPage()
    if (file.tab.url() !== 'about:blank') await blankTab(file.tab)
    await file.tab.setViewportSize(viewport)
    return file.tab
  }

  /** The file's tab (see `blank`) on the console's `hash` view. */
  async function open(hash = '', viewport = desktop): Promise<Page> {
    const page = await blank(viewport)
    await page.goto(`${shared.gw.url}/${hash}`)
    return page
  }

  /**
   * A new page in a context of its own that is a phone (touch, mobile; 390 x 844 unless `size` says; `options` adds
   * to it, e.g. a color scheme), closed after the case.
   */
  async function phone(
    size = { width: 390, height: 844 },
    options: BrowserContextOptions = {},
  ): Promise<Page> {
    const context = await shared.browser.newContext({
      viewport: size,
      hasTouch: true,
      isMobile: true,
      ...options,
    })
    contexts.push(context)
    return context.newPage()
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
  return { shared, contexts, open, blank, phone, waitForTurn }
}
