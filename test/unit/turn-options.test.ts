import { describe, expect, it } from 'vitest'
import { AgentRegistry } from '../../src/agents/registry.js'
import { loadConfig } from '../../src/config/load.js'
import { turnOptionsOf } from '../../src/core/turn-options.js'
import { AppError } from '../../src/protocol/errors.js'
import { tempDir } from '../support/temp.js'

/** Which per-turn approval policies each kind of agent honours, with the drivers this build declares. */
describe('turnOptionsOf', () => {
  const dir = tempDir('turn-options-')
  const env = { PATH: process.env.PATH, HOME: dir }
  const registry = AgentRegistry.fromConfig(loadConfig(env, dir), env)
  const acp = registry.list().find((d) => d.id.startsWith('acp:') && d.capabilities.approvals)!
  const refusal = (fn: () => unknown) => {
    try {
      fn()
    } catch (err) {
      expect(err).toBeInstanceOf(AppError)
      expect((err as AppError).code).toBe('invalid_request')
      return (err as Error).message
    }
    throw new Error('not refused')
  }

  it('codex: any policy, for the turn; none named: nothing', () => {
    const session = { agent: 'codex', approvalPolicy: 'never' as const }
    for (const approvalPolicy of ['untrusted', 'on-request', 'never'] as const)
      expect(turnOptionsOf(registry, session, { approvalPolicy })).toEqual({ approvalPolicy })
    expect(turnOptionsOf(registry, session, {})).toEqual({})
  })

  it('an agent taking its policy at creation (acp): its session policy passes as nothing, another is refused', () => {
    expect(acp).toBeDefined()
    const session = { agent: acp.id, approvalPolicy: 'untrusted' as const }
    expect(turnOptionsOf(registry, session, { approvalPolicy: 'untrusted' })).toEqual({})
    const message = refusal(() => turnOptionsOf(registry, session, { approvalPolicy: 'never' }))
    expect(message).toContain(`agent ${acp.id}`)
    expect(message).toContain('"untrusted"')
  })

  it('claude (a process per turn) takes a policy per turn', () => {
    const session = { agent: 'claude', approvalPolicy: null }
    expect(turnOptionsOf(registry, session, { approvalPolicy: 'on-request' })).toEqual({
      approvalPolicy: 'on-request',
    })
  })

  it('an agent without approvals (gemini): never passes as nothing, a policy that asks is refused', () => {
    const session = { agent: 'gemini', approvalPolicy: null }
    expect(turnOptionsOf(registry, session, { approvalPolicy: 'never' })).toEqual({})
    expect(refusal(() => turnOptionsOf(registry, session, { approvalPolicy: 'untrusted' }))).toContain(
      'cannot ask for approvals',
    )
  })

  it('with onBusy steer a policy is refused, for every agent', () => {
    const session = { agent: 'codex', approvalPolicy: 'never' as const }
    expect(refusal(() => turnOptionsOf(registry, session, { approvalPolicy: 'never' }, 'steer'))).toContain(
      'steer',
    )
  })

  it('an outputSchema: codex takes it for the turn (with a policy too); another agent, a steer, a $ref out: refused', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } }
    const codex = { agent: 'codex', approvalPolicy: 'never' as const }
    expect(turnOptionsOf(registry, codex, { outputSchema: schema })).toEqual({ outputSchema: schema })
    expect(turnOptionsOf(registry, codex, { outputSchema: schema, approvalPolicy: 'untrusted' })).toEqual({
      outputSchema: schema,
      approvalPolicy: 'untrusted',
    })
    expect(refusal(() => turnOptionsOf(registry, codex, { outputSchema: schema }, 'steer'))).toContain(
      'outputSchema cannot go with onBusy "steer"',
    )
    expect(
      refusal(() => turnOptionsOf(registry, codex, { outputSchema: { $ref: 'file:///etc/passwd' } })),
    ).toMatch(/points outside the schema/)
    expect(refusal(() => turnOptionsOf(registry, codex, { outputSchema: { type: 'nonsense' } }))).toMatch(
      /^outputSchema is not a valid JSON Schema: outputSchema\/type must be equal to one of the allowed values/,
    )
    expect(
      refusal(() =>
        turnOptionsOf(registry, { agent: 'claude', approvalPolicy: null }, { outputSchema: schema }),
      ),
    ).toBe(
      'agent claude takes no outputSchema for a session turn (capabilities.turnOutputSchema is false in GET /v1/agents), so it would not be honoured. Leave outputSchema out',
    )
  })

  it("a turn's outputSchema is taken exactly by the agents whose capabilities have turnOutputSchema", () => {
    const schema = { type: 'string' }
    const sessionAgents = registry.list().filter((d) => d.capabilities.sessions)
    expect(sessionAgents.filter((d) => d.capabilities.turnOutputSchema).map((d) => d.id)).toEqual(['codex'])
    for (const driver of sessionAgents) {
      const session = { agent: driver.id, approvalPolicy: null }
      if (driver.capabilities.turnOutputSchema)
        expect(turnOptionsOf(registry, session, { outputSchema: schema })).toEqual({ outputSchema: schema })
      else
        expect(refusal(() => turnOptionsOf(registry, session, { outputSchema: schema }))).toContain(
          'capabilities.turnOutputSchema is false',
        )
    }
  })
})
