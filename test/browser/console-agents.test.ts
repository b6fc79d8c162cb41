import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Session } from '../../src/protocol/sessions.js'
import {
  keyboardProblems,
  phoneLayoutProblems,
  screenshot,
  seriousA11yViolations,
} from '../support/browser.js'
import { consoleFixture, fileChromium, poll } from '../support/console-fixture.js'
import { mockAgentSettings, postJson } from '../support/gateway.js'

const chromium = fileChromium()

/** The real gemini (Gemini CLI, headless: no approvals) next to codex, both against the mock model. */
describe('web console with an agent without approvals, and claude', { timeout: 120_000 }, () => {
  const { shared, open } = consoleFixture(
    (mock) => ({
      AGENTS: 'codex,gemini,claude',
      ...mockAgentSettings(mock, { anthropic: 'unused', gemini: 'gemini-test-key', copilot: 'unused' }),
    }),
    chromium,
  )

  it('a gemini session is started without an approval policy, and the form says why; codex keeps the choice and shows its default', async () => {
    shared.mock.on('hello gemini', { kind: 'text', text: 'gemini answers' })
    const page = await open('#/sessions')
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
    await poll(() => page.getByTestId('session-approvals').textContent()).toBe('none: this agent cannot ask')
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
    const page = await open(`#/sessions/${session.id}`)
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
  })
})

describe('web console with API_TOKENS', { timeout: 120_000 }, () => {
  const { shared, blank } = consoleFixture({ AGENTS: 'codex', API_TOKENS: 'console-token-123' }, chromium)

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
    // the file's tab (the other gateway's origin: a token saved for that one is not this one's)
    const page = await blank({ width: 1280, height: 720 })
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
    // a wrong token: refused, said so (an alert tied to the field), and the field has the focus again (the button
    // pressed went with the form while the token was tried)
    await page.getByLabel('API token').fill('not-the-token')
    await page.getByRole('button', { name: 'Use this token' }).press('Enter')
    await poll(() => page.getByRole('alert').textContent()).toBe('The saved token was refused.')
    expect(await page.evaluate('document.activeElement.id')).toBe('token')
    expect(await page.getByLabel('API token').getAttribute('aria-describedby')).toBe('token-refused')
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
    // The documentation pages use the same saved token (each spends its seconds rendering the whole document;
    // one after the other in this tab: a second tab cost its renderer's start)
    await page.goto(`${shared.gw.url}/redoc`)
    await page.locator('#redoc h1').first().waitFor({ timeout: 60_000 })
    await page.goto(`${shared.gw.url}/docs`)
    await page.locator('.swagger-ui .info .title').waitFor({ timeout: 60_000 })
  })
})
