import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import type { Turn } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { ensureConsoleBuilt, launchChromium } from './browser.js'
import { startGateway, type TestGateway } from './gateway.js'

/** Waits for what the page shows (the page updates from events; nothing here sleeps). */
export const poll = <T>(read: () => Promise<T> | T) => expect.poll(read, { timeout: 30_000, interval: 100 })

export const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T

/**
 * The web console's test files (test/browser): the console built, one Chromium for the file, a mock model and a
 * gateway with `settings` in the worker's process; each case opens contexts of its own (closed after it, with
 * the mock's script reset). Call once at a file's top level.
 */
export function consoleFixture(
  settings: Record<string, string> | ((mock: MockLlm) => Record<string, string>),
) {
  const shared = {} as { mock: MockLlm; gw: TestGateway; browser: Browser }
  const contexts: BrowserContext[] = []
  beforeAll(async () => {
    ensureConsoleBuilt()
    // Chromium starts while the gateway does
    const [browser, mock] = await Promise.all([launchChromium(), startMockLlm()])
    shared.browser = browser
    shared.mock = mock
    shared.gw = await startGateway(mock, typeof settings === 'function' ? settings(mock) : settings)
  }, 60_000)
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close()
    shared.mock.reset()
  })
  afterAll(async () => {
    await shared.browser?.close()
    await shared.gw?.close()
    await shared.mock?.close()
  })

  /** A page on the console's `hash` view, in a new context (closed after the case). */
  async function open(hash = '', viewport = { width: 1100, height: 900 }): Promise<Page> {
    const context = await shared.browser.newContext({ viewport })
    contexts.push(context)
    const page = await context.newPage()
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

  /** `contexts`: a context a case opens itself, pushed here, is closed after it as those of `open`. */
  return { shared, contexts, open, waitForTurn }
}
