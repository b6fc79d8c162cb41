import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { oddDataDir, openUp, startContainerGateway } from '../support/container-gateway.js'
import { containersLabelled, gatewayContainers } from '../support/containers.js'
import { gatewayModules, postJson, requestInput, sessionEventsUntilTurnEnd } from '../support/gateway.js'
import { dataUrlOf, onePixelPng } from '../support/png.js'
import { processesUnder } from '../support/processes.js'

type Gateway = Awaited<ReturnType<typeof startContainerGateway>>

/** A 1x1 PNG (a turn's localImage) and another one inline (its `image` item). */
const png = onePixelPng
const inline =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAEElEQVR4AQEFAPr/AAAAAAAABQABZHiVOAAAAABJRU5ErkJggg=='

gatewayModules()

/** /v1 sessions with `isolation: "container"`: one container per session, across its turns (real podman). */
describe('/v1 sessions with isolation "container"', () => {
  let mock: MockLlm
  let gw: Gateway

  beforeAll(async () => {
    mock = await startMockLlm()
    // every codex container session mounts its image directory from DATA_DIR (see oddDataDir)
    gw = await startContainerGateway(mock, { DATA_DIR: oddDataDir() })
  }, 120_000)
  afterEach(() => mock.reset())
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
    expect(await gatewayContainers(gw.instance)).toEqual([])
    expect(processesUnder(gw.workspace)).toEqual([])
  })

  const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T
  const turn = (id: string, input: string) =>
    json<Turn>(postJson(`${gw.url}/v1/sessions/${id}/turns?wait=true`, { input }))
  const sessionContainers = (id: string) => containersLabelled(`agent-gateway.session=${id}`)
  const imageTurn = (id: string, input: object[]) =>
    json<Turn>(postJson(`${gw.url}/v1/sessions/${id}/turns?wait=true`, { input }))

  it('codex: the turns of a session run in one container, which lives until the session is archived', async () => {
    const created = await postJson(`${gw.url}/v1/sessions`, {
      agent: 'codex',
      isolation: 'container',
      sandbox: 'workspace-write',
      approvalPolicy: 'never',
    })
    expect(created.status).toBe(201)
    const session = (await created.json()) as Session
    expect(session.isolation).toBe('container')
    const [container] = await sessionContainers(session.id)
    expect(container).toMatch(new RegExp(`^agw-${gw.instance}-`))

    mock.script(
      { kind: 'exec_command', cmd: 'hostname >> hosts.txt' },
      { kind: 'text', text: 'first turn done' },
      {
        kind: 'exec_command',
        cmd: 'hostname >> hosts.txt; echo x > /etc/escape.txt || echo refused >> hosts.txt',
      },
      { kind: 'text', text: 'second turn done' },
    )
    const first = await turn(session.id, 'write your hostname')
    expect(first.status, first.error ?? '').toBe('completed')
    expect(first.finalResponse).toBe('first turn done')
    expect(await sessionContainers(session.id)).toEqual([container])
    const second = await turn(session.id, 'again')
    expect(second.status, second.error ?? '').toBe('completed')
    expect(await sessionContainers(session.id)).toEqual([container])

    // both turns' commands ran in that same container; a write outside the mounted workspace failed
    expect(readFileSync(path.join(gw.workspace, 'hosts.txt'), 'utf8')).toBe(
      `${container}\n${container}\nrefused\n`,
    )
    expect(existsSync('/etc/escape.txt')).toBe(false)

    const archived = await postJson(`${gw.url}/v1/sessions/${session.id}/archive`, {})
    expect(archived.status).toBe(200)
    expect(await sessionContainers(session.id)).toEqual([])
  })

  it('a read-only session gets the workspace mounted read-only: a command cannot write it', async () => {
    const session = await json<Session>(
      postJson(`${gw.url}/v1/sessions`, {
        agent: 'codex',
        isolation: 'container',
        sandbox: 'read-only',
        approvalPolicy: 'never',
      }),
    )
    mock.script(
      { kind: 'exec_command', cmd: 'echo x > ro.txt || echo refused' },
      { kind: 'text', text: 'tried' },
    )
    const t = await turn(session.id, 'try to write')
    expect(t.status, t.error ?? '').toBe('completed')
    expect(JSON.stringify(mock.requests.at(-1)?.body)).toContain('refused')
    expect(existsSync(path.join(gw.workspace, 'ro.txt'))).toBe(false)
    await postJson(`${gw.url}/v1/sessions/${session.id}/archive`, {})
    expect(await sessionContainers(session.id)).toEqual([])
  })

  it("a container session is reopened in a new container after the gateway closed it; each container sees its turns' images", async () => {
    mkdirSync(path.join(gw.workspace, 'shots'))
    writeFileSync(path.join(gw.workspace, 'shots', 'pixel.png'), png)
    openUp(path.join(gw.workspace, 'shots'))
    const session = await json<Session>(
      postJson(`${gw.url}/v1/sessions`, { agent: 'codex', isolation: 'container' }),
    )
    // the directory its container mounts for the turns' images: DATA_DIR/run-images/<session>-*, empty
    const imageDirs = () => {
      const dir = path.join(gw.env.DATA_DIR!, 'run-images')
      return (existsSync(dir) ? readdirSync(dir) : []).filter((n) => !n.endsWith('.owner'))
    }
    const [imageDir] = imageDirs()
    expect(imageDirs()).toEqual([expect.stringMatching(new RegExp(`^${session.id}-`))])
    const copiesLeft = () => readdirSync(path.join(gw.env.DATA_DIR!, 'run-images', imageDir!))
    mock.script({ kind: 'text', text: 'one' }, { kind: 'text', text: 'two' })
    const pngData = dataUrlOf(png)
    const image = { type: 'localImage', path: 'shots/pixel.png' }
    const first = await imageTurn(session.id, [{ type: 'text', text: 'first' }, image])
    expect(first.status, first.error ?? '').toBe('completed')
    // codex, in the container, read the turn's copy: the model got the image's data; the copy went with the turn
    expect(requestInput(mock)).toContain(pngData)
    expect(copiesLeft()).toEqual([])
    const [before] = await sessionContainers(session.id)
    // what shutdown does to every live session: the container goes with it (requests' sessions live in the
    // untenanted scope, core/tenancy/), and so does its image directory
    await gw.ctx.tenancy.scope(null).sessions.closeAll()
    expect(await sessionContainers(session.id)).toEqual([])
    expect(imageDirs()).toEqual([])
    // the new container mounts a new image directory: a localImage and an inline image (data: URL) both reach the model
    const input = [{ type: 'text', text: 'second' }, image, { type: 'image', url: inline }]
    const again = await imageTurn(session.id, input)
    expect(again.status, again.error ?? '').toBe('completed')
    expect(again.input).toEqual(input)
    const second = requestInput(mock)
    expect(second).toContain('first')
    expect(second).toContain(inline)
    expect(second.split(pngData).length - 1).toBe(2) // the first turn's, and this one's
    const [after] = await sessionContainers(session.id)
    expect(after).toBeDefined()
    expect(after).not.toBe(before)
    expect(imageDirs()).toEqual([expect.stringMatching(new RegExp(`^${session.id}-`))])
    expect(imageDirs()).not.toEqual([imageDir])
    expect(readdirSync(path.join(gw.env.DATA_DIR!, 'run-images', imageDirs()[0]!))).toEqual([])
    // the turns and their events name the image as the client did, never its copy
    const events = JSON.stringify(await sessionEventsUntilTurnEnd(gw.url, session.id, again.id))
    expect(events).toContain('shots/pixel.png')
    expect(events).not.toContain('run-images')
    // what is still refused before anything runs (400): an image outside the workspace, one with a steer, a
    // remote URL
    const refused = async (item: Record<string, string>, extra: Record<string, unknown> = {}) => {
      const answer = await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, { input: [item], ...extra })
      return {
        status: answer.status,
        message: (await json<{ error: { message: string } }>(answer)).error.message,
      }
    }
    expect(await refused({ type: 'localImage', path: '/etc/hostname' })).toEqual({
      status: 400,
      message: expect.stringMatching(/^image "\/etc\/hostname" is outside the workspace roots/),
    })
    expect(await refused(image, { onBusy: 'steer' })).toEqual({
      status: 400,
      message: expect.stringContaining('image input items cannot go with onBusy "steer"'),
    })
    expect(await refused({ type: 'image', url: 'https://example.com/a.png' })).toEqual({
      status: 400,
      message: expect.stringContaining('is not a data:image/ URL'),
    })
    expect(mock.requests.filter((r) => !r.side)).toHaveLength(2)
    await postJson(`${gw.url}/v1/sessions/${session.id}/archive`, {})
    expect(await sessionContainers(session.id)).toEqual([])
    expect(imageDirs()).toEqual([])
  })

  it('acp:codex-acp: the session is one agent process in one container, ended on archive', async () => {
    const created = await postJson(`${gw.url}/v1/sessions`, {
      agent: 'acp:codex-acp',
      isolation: 'container',
    })
    expect(created.status).toBe(201)
    const session = (await created.json()) as Session
    const [container] = await sessionContainers(session.id)
    expect(container).toMatch(new RegExp(`^agw-${gw.instance}-`))
    mock.script({ kind: 'text', text: 'acp one' }, { kind: 'text', text: 'acp two' })
    expect((await turn(session.id, 'first')).finalResponse).toBe('acp one')
    expect((await turn(session.id, 'second')).finalResponse).toBe('acp two')
    expect(await sessionContainers(session.id)).toEqual([container])
    await postJson(`${gw.url}/v1/sessions/${session.id}/archive`, {})
    expect(await sessionContainers(session.id)).toEqual([])
  })

  it('a session whose cwd holds `:`, `,`, `"` and a line break runs there (podman); one with CR LF is refused at creation', async () => {
    const name = 'session:one,source=etc,"x"\ny'
    const dir = path.join(gw.workspace, name)
    mkdirSync(dir)
    openUp(dir)
    const created = await postJson(`${gw.url}/v1/sessions`, {
      agent: 'codex',
      isolation: 'container',
      cwd: name,
      sandbox: 'workspace-write',
      approvalPolicy: 'never',
    })
    expect(created.status).toBe(201)
    const session = (await created.json()) as Session
    mock.script({ kind: 'exec_command', cmd: 'pwd > where.txt' }, { kind: 'text', text: 'wrote' })
    const t = await turn(session.id, 'where are you?')
    expect(t.status, t.error ?? '').toBe('completed')
    expect(readFileSync(path.join(dir, 'where.txt'), 'utf8')).toBe(`${dir}\n`)
    await postJson(`${gw.url}/v1/sessions/${session.id}/archive`, {})

    // Go's CSV reader (podman's --mount) drops a CR before a LF, even in quotes: that one cannot be mounted
    mkdirSync(path.join(gw.workspace, 'x\r\ny'))
    const crlf = await postJson(`${gw.url}/v1/sessions`, {
      agent: 'codex',
      isolation: 'container',
      cwd: 'x\r\ny',
    })
    expect(crlf.status).toBe(400)
    expect(await crlf.json()).toMatchObject({
      error: { code: 'invalid_request', message: /holds a carriage return before a line break/ },
    })
    expect(await gatewayContainers(gw.instance)).toEqual([])
  })

  it('refuses a container session with an image off the allowlist', async () => {
    const image = await postJson(`${gw.url}/v1/sessions`, {
      agent: 'codex',
      isolation: 'container',
      image: 'docker.io/library/alpine:3',
    })
    expect(image.status).toBe(400)
    expect(await image.text()).toMatch(/not allowed/)
    expect(await gatewayContainers(gw.instance)).toEqual([])
  })
})
