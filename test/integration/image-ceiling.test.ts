import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { maxImageBytesCeiling } from '../../src/util/image-type.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import {
  finishedTurnAt,
  gatewayModules,
  mockAgentSettings,
  postJson,
  sessionEventsUntil,
  startGateway,
  succeededRun,
  type TestGateway,
  testApiKey,
} from '../support/gateway.js'
import { dataUrlOf, onePixelPng } from '../support/png.js'

// MAX_IMAGE_BYTES at its ceiling (6,242,304 bytes: an image's base64 and its message within the 8 MiB line the
// gateway reads of an agent, src/util/image-type.ts), with the real agents that take images on the mock model: the
// image reaches the model whole. Before, only the 5 MiB default and smaller were ever sent.

gatewayModules()

describe('an image of MAX_IMAGE_BYTES at its ceiling reaches the model whole', () => {
  let mock: MockLlm
  let gw: TestGateway
  /** A PNG (its first bytes: a 1x1 image) padded with zeros to the ceiling: a PNG for the gateway and the agents. */
  const png = Buffer.concat([onePixelPng, Buffer.alloc(maxImageBytesCeiling - onePixelPng.length)])
  const base64 = png.toString('base64')
  beforeAll(async () => {
    mock = await startMockLlm()
    gw = await startGateway(mock, {
      MAX_IMAGE_BYTES: String(maxImageBytesCeiling),
      // a data: URL of the ceiling is 8.3 MB of JSON
      BODY_LIMIT_BYTES: String(16 * 1024 * 1024),
      ...mockAgentSettings(mock, {
        anthropic: 'sk-ant-test',
        gemini: 'gemini-test-key',
        copilot: testApiKey,
      }),
    })
    mkdirSync(path.join(gw.workspace, 'shots'), { recursive: true })
    writeFileSync(path.join(gw.workspace, 'shots', 'ceiling.png'), png)
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
  })

  /** The body of the last model request whose last user text has `prompt`, as JSON text. */
  const sentWith = (prompt: string) => {
    const request = mock.requests.filter((r) => mock.lastUserText(r).includes(prompt)).at(-1)
    expect(request, `a model request for "${prompt}"`).toBeDefined()
    return JSON.stringify(request!.body)
  }
  /** How many times the image's base64 is in `text` (once: whole, not cut, not twice). */
  const imagesIn = (text: string) => text.split(base64).length - 1

  const turnWith = async (agent: string, prompt: string, image: Record<string, unknown>) => {
    mock.on(prompt, { kind: 'text', text: `seen by ${agent}` })
    const created = await postJson(`${gw.url}/v1/sessions`, { agent })
    const session = (await created.json()) as Session
    expect(created.status, JSON.stringify(session)).toBe(201)
    const res = await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, {
      input: [{ type: 'text', text: prompt }, image],
    })
    const started = (await res.json()) as Turn
    expect(res.status, JSON.stringify(started)).toBe(202)
    const t = await finishedTurnAt(gw.url, session.id, started.id)
    expect(t, JSON.stringify(t)).toMatchObject({ status: 'completed', finalResponse: `seen by ${agent}` })
    return { sent: sentWith(prompt), session }
  }

  it('codex: a session turn of a data: URL image and 60 KB of text (codex app-server echoes them on one line)', async () => {
    // before: a 400 (its echo, the line's envelope kept twice, could not fit), whatever the text
    const prompt = `describe the inline ceiling image ${'and more '.repeat(60_000 / 9)}`
    const { sent, session } = await turnWith('codex', prompt, { type: 'image', url: dataUrlOf(png) })
    expect(imagesIn(sent)).toBe(1)
    expect(sent).toContain(dataUrlOf(png))
    // codex's echo of the turn (its userMessage item, on one line the gateway reads) came whole: stored with the image
    const events = await sessionEventsUntil(gw.url, session.id, (e) => e.type === 'turn.completed')
    const echoes = events.filter(
      (e) => e.type === 'agent.raw' && JSON.stringify(e.payload).includes('"userMessage"'),
    )
    expect(echoes.map((e) => e.type === 'agent.raw' && (e.payload as { method: string }).method)).toEqual([
      'item/started',
      'item/completed',
    ])
    for (const echo of echoes) expect(imagesIn(JSON.stringify(echo))).toBe(1)
  }, 120_000)

  it('codex exec: a run (POST /v1/runs) of the image file', async () => {
    const prompt = 'describe the ceiling image file of the run'
    mock.on(prompt, { kind: 'text', text: 'seen by codex exec' })
    const { run } = await succeededRun(gw.url, { agent: 'codex', prompt, images: ['shots/ceiling.png'] })
    expect(run.finalResponse).toBe('seen by codex exec')
    const sent = sentWith(prompt)
    expect(imagesIn(sent)).toBe(1)
    expect(sent).toContain(dataUrlOf(png))
  }, 120_000)

  it('acp:gemini: a session turn of the image file (an ACP image block)', async () => {
    const { sent } = await turnWith('acp:gemini', 'describe the ceiling image for acp:gemini', {
      type: 'localImage',
      path: 'shots/ceiling.png',
    })
    expect(imagesIn(sent)).toBe(1)
  }, 120_000)

  // Claude Code decodes each image and sends the model its own encoding of it (sharp): the zeros after the PNG's end
  // are not in it, so the bytes sent cannot be compared; the image, its one pixel, is what it got.
  it('acp:claude-agent-acp: a session turn of the image file (an ACP image block), re-encoded by Claude Code', async () => {
    const { sent } = await turnWith('acp:claude-agent-acp', 'describe the ceiling image for claude', {
      type: 'localImage',
      path: 'shots/ceiling.png',
    })
    const images = [...sent.matchAll(/"media_type":"image\/png","data":"([A-Za-z0-9+/=]+)"/g)].map((m) =>
      Buffer.from(m[1]!, 'base64'),
    )
    expect(images).toHaveLength(1)
    // a PNG of 1x1 (its IHDR's width and height)
    expect(images[0]!.subarray(0, 8)).toEqual(onePixelPng.subarray(0, 8))
    expect([images[0]!.readUInt32BE(16), images[0]!.readUInt32BE(20)]).toEqual([1, 1])
  }, 120_000)
})
