import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Session } from '../../src/protocol/sessions.js'
import { sharedGateway } from '../support/gateway.js'
import { gatewayCommand } from '../support/server-process.js'

/** `agent-gateway stream` as a real process with a piped terminal: lines out, answers in. */
function demoClient(env: Record<string, string>, args: string[]) {
  const child = spawn(process.execPath, gatewayCommand(['stream', ...args]), {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let out = ''
  const waiters: (() => void)[] = []
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
    for (const w of waiters.splice(0)) w()
  })
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  const waitFor = async (text: string) => {
    while (!out.includes(text)) {
      if (child.exitCode !== null) throw new Error(`client exited; output:\n${out}`)
      await new Promise<void>((resolve) => waiters.push(resolve))
    }
  }
  return { child, output: () => out, waitFor, exited, type: (line: string) => child.stdin.write(`${line}\n`) }
}

describe('agent-gateway stream (the demo client)', () => {
  const shared = sharedGateway()

  it('prints the output text, asks "Approve? (yes/no)", runs the command on yes, and quits on /quit', async () => {
    shared.mock.script(
      { kind: 'exec_command', cmd: 'echo demo > demo.txt' },
      { kind: 'text', text: 'demo wrote the file' },
      { kind: 'text', text: 'second reply' },
    )
    const sessionId = `demo-${process.pid}`
    const c = demoClient({ CODEX_API_URL: shared.gw.url }, [sessionId, 'please', 'write', 'demo.txt'])
    await c.waitFor('Approve? (yes/no)')
    expect(c.output()).toContain('echo demo > demo.txt')
    c.type('yes')
    await c.waitFor('demo wrote the file')
    await c.waitFor('Agent run completed.')
    c.type('and again')
    await c.waitFor('second reply')
    c.type('/quit')
    expect(await c.exited).toBe(0)
    expect(c.output()).toContain('[terminate] Stream ended from server side.')
    const sessions = (await (await fetch(`${shared.gw.url}/v1/sessions`)).json()) as { sessions: Session[] }
    const session = sessions.sessions.find((s) => s.externalId === sessionId)!
    expect(existsSync(path.join(session.cwd, 'demo.txt'))).toBe(true)
  }, 120_000)

  it('/cancel stops a slow run', async () => {
    shared.mock.script({ kind: 'text', text: 'too slow', delayMs: 30_000 })
    const c = demoClient({ CODEX_API_URL: shared.gw.url }, [`demo-cancel-${process.pid}`, 'be slow'])
    await c.waitFor('Agent thinking...')
    c.type('/cancel')
    await c.waitFor('Agent run cancelled by client.')
    await c.waitFor('Agent run successfully aborted.')
    c.type('/exit')
    expect(await c.exited).toBe(0)
    expect(c.output()).not.toContain('too slow')
  }, 120_000)

  it('with the prompt on the command line and stdin closed, waits for the answer and the end frame, exit 0', async () => {
    shared.mock.script({ kind: 'text', text: 'answer despite no stdin' })
    const c = demoClient({ CODEX_API_URL: shared.gw.url }, [`demo-eof-${process.pid}`, 'hi'])
    c.child.stdin.end()
    expect(await c.exited).toBe(0)
    expect(c.output()).toContain('answer despite no stdin')
    expect(c.output()).toContain('Agent run completed.')
    expect(c.output()).toContain('[terminate] Stream ended from server side.')
  }, 120_000)

  it('with two prompts piped, EOF waits for the last one (the second interrupts the first, as in seed 004)', async () => {
    // the first turn may or may not reach the model before the second interrupts it: the same answer either way
    shared.mock.script({ kind: 'text', text: 'piped answer' }, { kind: 'text', text: 'piped answer' })
    const c = demoClient({ CODEX_API_URL: shared.gw.url }, [`demo-eof-two-${process.pid}`])
    c.child.stdin.end('first\nsecond\n')
    expect(await c.exited).toBe(0)
    const out = c.output()
    expect(out).toContain('piped answer')
    // the last message's turn ended as a completed run, after whatever ended the first
    expect(out.lastIndexOf('Agent run completed.')).toBeGreaterThan(out.lastIndexOf('Agent processing... '))
    expect(out).toContain('[terminate] Stream ended from server side.')
  }, 120_000)

  it('with the prompt from stdin, EOF after it still waits for its answer; an approval it cannot ask is denied', async () => {
    shared.mock.script(
      { kind: 'exec_command', cmd: 'echo eof > eof.txt' },
      { kind: 'text', text: 'the command was refused' },
    )
    const sessionId = `demo-eof-stdin-${process.pid}`
    const c = demoClient({ CODEX_API_URL: shared.gw.url }, [sessionId])
    c.child.stdin.end('write eof.txt\n')
    expect(await c.exited).toBe(0)
    expect(c.output()).toContain('Approve? (yes/no)')
    expect(c.output()).toContain('no input left to answer: denied')
    expect(c.output()).toContain('the command was refused')
    expect(c.output()).toContain('Agent run completed.')
    expect(c.output()).toContain('[terminate] Stream ended from server side.')
    const sessions = (await (await fetch(`${shared.gw.url}/v1/sessions`)).json()) as { sessions: Session[] }
    const session = sessions.sessions.find((s) => s.externalId === sessionId)!
    expect(existsSync(path.join(session.cwd, 'eof.txt'))).toBe(false)
  }, 120_000)
})
