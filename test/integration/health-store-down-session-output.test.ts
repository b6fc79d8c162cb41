import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Session, Turn } from '../../src/protocol/sessions.js'
import { type MockLlm, startMockLlm } from '../mock-llm/index.js'
import { blockingWriter } from '../support/blocking-writer.js'
import {
  finishedTurnAt,
  gatewayModules,
  postJson,
  startGateway,
  type TestGateway,
} from '../support/gateway.js'
import { heldNow } from '../support/held-gauges.js'
import { signalPostgres } from '../support/postgres-signals.js'
import { sharedPostgres } from '../support/shared-postgres.js'

// a server of its own: SIGSTOP freezes all of it
const server = sharedPostgres({ ownServer: true })

/** STORE_OUTAGE_HELD_MAX_BYTES of the gateway: its smallest value. */
const bound = 1024 * 1024
/** What the command writes: 8 MiB of numbered lines of 64 bytes, in blocks of 64 KiB. */
const lineBytes = 64
const blocks = 128
const linesPerBlock = 1024
const writtenBytes = blocks * linesPerBlock * lineBytes

/**
 * The command: answers `pong` to each `ping` of its release fifo (codex streams a command's output as deltas only
 * from some moment after it started: what it printed at once may never come as a delta, so the test pings until a
 * `pong` is stored), and on `go` writes blockingWriter's lines (its progress file says where it is).
 */
const writer = blockingWriter(
  { blocks, linesPerBlock, lineBytes },
  {
    args: '$release',
    before: `$| = 1;
open(my $r, '+<', $release) or die;
while (my $ask = <$r>) { last if $ask eq "go\\n"; print "pong\\n" }
close $r;`,
  },
)

gatewayModules()

/**
 * A codex app-server session turn whose command prints far more than STORE_OUTAGE_HELD_MAX_BYTES while PostgreSQL
 * hangs (SIGSTOP): codex streams the output as `item/commandExecution/outputDelta` notifications, and the gateway
 * holds at most the bound in its event pipe plus what the app-server's reader may hold unread by the turn (256 KiB),
 * then reads no more of codex's stdout, so codex blocks on its write. Before, the session's driver read everything
 * codex wrote into the turn's queue meanwhile (the bound held in the pipe, the memory moved to the driver). A real
 * codex app-server against the mock model, a real PostgreSQL frozen and woken.
 */
describe("a session turn's output while the store hangs", () => {
  let gw: TestGateway
  let mock: MockLlm
  beforeAll(async () => {
    mock = await startMockLlm()
    gw = await startGateway(mock, {
      DATABASE_URL: await server.createStoreDatabase(),
      STORE_QUERY_TIMEOUT_SECONDS: '2',
      STORE_OUTAGE_HELD_MAX_BYTES: String(bound),
      // the outage lasts as long as the test needs: the turn rides over it however loaded the machine
      STORE_OUTAGE_GRACE_SECONDS: '600',
      ALLOW_DANGER_FULL_ACCESS: 'true',
    })
    await writeFile(path.join(gw.workspace, 'writer.pl'), writer)
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
  })

  const signalServer = (sig: NodeJS.Signals) => signalPostgres(server.ownServer().dir, sig)

  /** Counts the bytes the gateway reads from its codex app-server's stdout from now on (what enters the stream). */
  function countAppServerReads() {
    // the app-server is the driver's engine's (agents/codex/app-server-engine.ts), loaded by the session's start
    const { running } = (
      gw.ctx.registry.get('codex') as unknown as {
        engine: { loaded: { process: { running?: { proc: { stdout: Readable } } } } }
      }
    ).engine.loaded.process
    const stdout = running?.proc.stdout
    expect(stdout).toBeDefined()
    const counted = { bytes: 0, deltas: 0, carry: '' }
    const push = stdout!.push.bind(stdout)
    stdout!.push = (chunk: Buffer | null, encoding?: BufferEncoding) => {
      if (chunk) counted.bytes += chunk.length
      if (chunk) {
        const text = counted.carry + chunk.toString('latin1')
        counted.deltas += text.split('commandExecution/outputDelta').length - 1
        counted.carry = text.slice(-40)
        if (counted.carry.includes('commandExecution/outputDelta')) counted.carry = ''
      }
      return push(chunk, encoding)
    }
    return counted
  }

  it('holds the bound (codex blocks on its write) and, once the store wakes, stores every delta once, in order', {
    timeout: 180_000,
  }, async () => {
    const created = await postJson(`${gw.url}/v1/sessions`, {
      agent: 'codex',
      // its command writes its progress file outside codex's sandbox
      sandbox: 'danger-full-access',
    })
    const session = (await created.json()) as Session
    expect(created.status, JSON.stringify(session)).toBe(201)
    const release = path.join(gw.workspace, 'release')
    const progress = path.join(gw.workspace, 'progress')
    expect(spawnSync('mkfifo', [release]).status).toBe(0)
    mock.script(
      // in the turn as long as codex lets a command (30 s), not in a background terminal
      { kind: 'exec_command', cmd: `perl writer.pl ${progress} ${release}`, yieldTimeMs: 30_000 },
      { kind: 'text', text: 'all written' },
    )
    const started = await postJson(`${gw.url}/v1/sessions/${session.id}/turns`, { input: 'write it all' })
    const turn = (await started.json()) as Turn
    expect(started.status, JSON.stringify(turn)).toBe(202)
    // the command's output streamed: a `pong` stored (pinged again while none is: codex may not stream its first)
    let commandId: string | undefined
    let pongs = ''
    for (let polls = 0; !pongs.includes('pong\n'); polls++) {
      if (polls % 20 === 0) await writeFile(release, 'ping\n')
      await new Promise((resolve) => setTimeout(resolve, 50))
      const events = await gw.ctx.store.eventsAfter(session.id, 0, 1000)
      commandId = events.flatMap((e) =>
        e.type === 'item.started' && e.item.type === 'command_execution' ? [e.item.id] : [],
      )[0]
      pongs = events
        .flatMap((e) => (e.type === 'item.delta' && e.itemId === commandId ? [e.delta] : []))
        .join('')
      // said, not left to the test's timeout
      if (events.some((e) => e.type === 'item.completed' && e.item.id === commandId))
        throw new Error(`the command ended before a pong streamed: ${JSON.stringify(events)}`)
    }
    const state = () => {
      if (!existsSync(progress)) return { what: 'starting', bytes: 0 }
      const [what, bytes] = readFileSync(progress, 'utf8').split(' ')
      return { what: what as string, bytes: Number(bytes) }
    }
    const reads = countAppServerReads()
    signalServer('SIGSTOP')
    // a watchdog, not a timing: whatever waits below, the server is not left frozen past the test
    const thaw = setTimeout(() => signalServer('SIGCONT'), 90_000)
    let most = 0
    let seen: { what: string; bytes: number; paused: number; read: number }
    try {
      await writeFile(release, 'go\n')
      // until the command wrote all (codex keeps what it cannot send) or blocks, and the gateway reads no more of
      // codex (paused), or read far more than any bound (before)
      const t0 = Date.now()
      while (true) {
        const held = await heldNow(gw.url)
        const now = state()
        const read = reads.bytes
        most = Math.max(most, held.inFlight + held.queued)
        const written = now.what === 'done' || now.what === 'blocked'
        if ((written && held.paused > 0) || read > 4 * bound) {
          seen = { ...now, paused: held.paused, read }
          break
        }
        // a watchdog, not a timing: the server is woken (finally) and the state said, not left frozen past the test
        if (Date.now() - t0 > 80_000)
          throw new Error(`neither held nor read: ${JSON.stringify({ held, now, read })}`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    } finally {
      clearTimeout(thaw)
      signalServer('SIGCONT')
    }
    // what the gateway read of codex while the store hung: the pipe's bound, the reader's 256 KiB and a line past
    // it, a socket read; before, all that codex sent of the command's 8 MiB
    expect(
      seen.read,
      `the gateway read ${seen.read} bytes of codex while the store was frozen`,
    ).toBeLessThanOrEqual(bound + 1024 * 1024)
    expect(seen.paused).toBe(1)
    // what the gateway held of it meanwhile: the bound and one event past it, the reader's 256 KiB and one line
    expect(most).toBeGreaterThan(bound / 2)
    expect(most).toBeLessThanOrEqual(bound + 512 * 1024)
    // the store woke: codex goes on, and every delta is stored once, in order
    expect(await finishedTurnAt(gw.url, session.id, turn.id)).toMatchObject({ status: 'completed' })
    expect(state()).toEqual({ what: 'done', bytes: writtenBytes })
    const events = await gw.ctx.store.eventsAfter(session.id, 0, 100_000)
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1))
    const output = events
      .flatMap((e) => (e.type === 'item.delta' && e.itemId === commandId ? [e.delta] : []))
      .join('')
    // after the pongs streamed (those codex streamed of them), the command's lines
    const lines = output.slice(output.indexOf('00000001 '))
    expect(output.slice(0, output.length - lines.length)).toMatch(/^(pong\n)+$/)
    // every delta the gateway read of codex since the freeze is stored: codex itself may leave some of the
    // command's output out of its deltas (whole 8 KiB reads of it, seen in about 1 run in 10 under load: what its
    // stdout carried was all stored), so the lines stored are the command's, each once, in order, not all of them
    const commandDeltas = events.filter(
      (e) => e.type === 'item.delta' && e.itemId === commandId && e.delta !== 'pong\n',
    ).length
    expect(commandDeltas).toBe(reads.deltas)
    const numbers = lines
      .split('\n')
      .slice(0, -1)
      .map((line) => {
        expect(line).toMatch(new RegExp(`^\\d{8} x{${lineBytes - 10}}$`))
        return Number(line.slice(0, 8))
      })
    expect(numbers.every((n, i) => i === 0 || n > numbers[i - 1]!)).toBe(true)
    expect(numbers.at(-1)).toBeLessThanOrEqual(blocks * linesPerBlock)
    expect(lines.length).toBeGreaterThan(writtenBytes / 2)
    expect(await heldNow(gw.url)).toEqual({ inFlight: 0, queued: 0, paused: 0 })
  })
})
