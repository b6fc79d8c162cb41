import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { gatewayModules, postJson, startGateway, testApiKey, testModel } from '../support/gateway.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'
import { copilotPkgCache, tempDir } from '../support/temp.js'

/** AI_PROVIDER picks the agent behind GET /hello and POST /chat (seed 000): every CLI against the mock. */
const agents: Record<string, (mock: MockLlm) => Record<string, string>> = {
  claude: (mock) => ({
    ANTHROPIC_BASE_URL: mock.url,
    ANTHROPIC_API_KEY: testApiKey,
    CLAUDE_CODE_MAX_RETRIES: '0',
  }),
  gemini: (mock) => ({
    GEMINI_API_KEY: testApiKey,
    GOOGLE_GEMINI_BASE_URL: mock.url,
    GEMINI_MODEL: 'gemini-2.5-flash',
    GEMINI_CLI_HOME: tempDir('gemini-home-'),
    TMPDIR: tempDir('gemini-tmp-'),
  }),
  copilot: (mock) => ({
    COPILOT_PROVIDER_BASE_URL: mock.baseUrl,
    COPILOT_PROVIDER_API_KEY: testApiKey,
    COPILOT_MODEL: testModel,
    COPILOT_PKG_CACHE_HOME: copilotPkgCache(),
  }),
}

gatewayModules()

describe.each(Object.keys(agents))('AI_PROVIDER=%s', (agent) => {
  let mock: MockLlm
  beforeAll(async () => {
    mock = await startMockLlm()
  })
  afterAll(async () => {
    await mock.close()
  })

  // two cold starts of a Node CLI (gemini loads ~6 s before its first byte on a busy 2-core machine)
  it('/hello answers the greeting as text/plain and /chat answers {stdout, stderr, returncode}', {
    timeout: 90_000,
  }, async () => {
    const gw = await startGateway(mock, { AI_PROVIDER: agent, ...agents[agent]!(mock) })
    try {
      mock.setDefault({ kind: 'text', text: `Greetings from ${agent}!` })
      const hello = await fetch(`${gw.url}/hello`)
      expect(hello.status).toBe(200)
      expect(hello.headers.get('content-type')).toMatch(/^text\/plain/)
      expect(await hello.text()).toBe(`Greetings from ${agent}!`)
      expect(mock.requests.some((r) => /greeting/i.test(mock.lastUserText(r)))).toBe(true)
      mock.setDefault({ kind: 'text', text: `${agent} chats back` })
      const chat = await postJson(`${gw.url}/chat`, { prompt: `hello ${agent}` })
      expect(chat.status).toBe(200)
      expect(await chat.json()).toMatchObject({ stdout: `${agent} chats back\n`, returncode: 0 })
      expect(mock.requests.some((r) => mock.lastUserText(r).includes(`hello ${agent}`))).toBe(true)
    } finally {
      await gw.close()
    }
    expect(await waitUntilGone(() => processesUnder(gw.workspace))).toEqual([])
  })

  it('not installed: 503 saying so, and codex still answers', async () => {
    const gw = await startGateway(mock, {
      AI_PROVIDER: agent,
      [`${agent.toUpperCase()}_PATH`]: '/nonexistent/agent-cli',
      ...agents[agent]!(mock),
    })
    try {
      const res = await fetch(`${gw.url}/hello`)
      expect(res.status).toBe(503)
      expect(await res.json()).toMatchObject({ error: `${agent} CLI is not installed`, provider: agent })
      const listed = (await (await fetch(`${gw.url}/v1/agents`)).json()) as {
        agents: { id: string; installed: boolean }[]
      }
      expect(listed.agents.find((a) => a.id === agent)?.installed).toBe(false)
      mock.setDefault({ kind: 'text', text: 'codex still works' })
      const run = await postJson(`${gw.url}/v1/runs?wait=true`, { agent: 'codex', prompt: 'are you there' })
      expect(await run.json()).toMatchObject({ status: 'succeeded', finalResponse: 'codex still works' })
    } finally {
      await gw.close()
    }
  })

  it('without credentials: 503 naming what to set', async () => {
    const gw = await startGateway(null, { AI_PROVIDER: agent, GEMINI_CLI_HOME: tempDir('gemini-home-') })
    try {
      const res = await fetch(`${gw.url}/hello`)
      expect(res.status).toBe(503)
      expect(await res.json()).toMatchObject({ error: `${agent} CLI is not authenticated`, provider: agent })
    } finally {
      await gw.close()
    }
  })
})
