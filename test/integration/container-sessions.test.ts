import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { openUp, startContainerGateway } from '../support/container-gateway.js'
import { containersLabelled, gatewayContainers } from '../support/containers.js'
import { gatewayModules, postJson } from '../support/gateway.js'
import { processesUnder } from '../support/processes.js'

type Gateway = Awaited<ReturnType<typeof startContainerGateway>>

gatewayModules()

/** /v1 sessions with `isolation: "container"`: one container per session, across its turns (real podman). */
describe('/v1 sessions with isolation "container"', () => {
  let mock: MockLlm
  let gw: Gateway

  beforeAll(async () => {
    mock = await startMockLlm()
    gw = await startContainerGateway(mock)
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

  it('a container session is reopened in a new container after the gateway closed it', async () => {
    const session = await json<Session>(
      postJson(`${gw.url}/v1/sessions`, { agent: 'codex', isolation: 'container' }),
    )
    mock.script({ kind: 'text', text: 'one' }, { kind: 'text', text: 'two' })
    expect((await turn(session.id, 'first')).status).toBe('completed')
    const [before] = await sessionContainers(session.id)
    // what shutdown does to every live session: the container goes with it (requests' sessions live in the
    // untenanted scope, core/tenancy/)
    await gw.ctx.tenancy.scope(null).sessions.closeAll()
    expect(await sessionContainers(session.id)).toEqual([])
    const again = await turn(session.id, 'second')
    expect(again.status, again.error ?? '').toBe('completed')
    expect(JSON.stringify(mock.requests.at(-1)?.body)).toContain('first')
    const [after] = await sessionContainers(session.id)
    expect(after).toBeDefined()
    expect(after).not.toBe(before)
    await postJson(`${gw.url}/v1/sessions/${session.id}/archive`, {})
    expect(await sessionContainers(session.id)).toEqual([])
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

  it('a session whose cwd holds `:` runs there; one whose cwd holds `,` is refused at creation', async () => {
    const dir = path.join(gw.workspace, 'session:one')
    mkdirSync(dir)
    openUp(dir)
    const created = await postJson(`${gw.url}/v1/sessions`, {
      agent: 'codex',
      isolation: 'container',
      cwd: 'session:one',
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

    mkdirSync(path.join(gw.workspace, 'x,source='))
    const comma = await postJson(`${gw.url}/v1/sessions`, {
      agent: 'codex',
      isolation: 'container',
      cwd: 'x,source=',
    })
    expect(comma.status).toBe(400)
    expect(await comma.json()).toMatchObject({ error: { code: 'invalid_request', message: /holds ","/ } })
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
