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
import { processesUnder, waitUntilGone } from '../support/processes.js'
import { sharedPostgres } from '../support/shared-postgres.js'

// a server of its own: SIGSTOP freezes all of it
const server = sharedPostgres({ ownServer: true })

/** STORE_OUTAGE_HELD_MAX_BYTES of the gateway: its smallest value. */
const bound = 1024 * 1024
/**
 * What the command writes: 3 MiB of numbered lines of 64 bytes, in blocks of 64 KiB: more than the gateway may hold
 * of it (the bound, 256 KiB and a chunk) with the pipes' buffers. Not 8 MiB, as the codex app-server's test writes:
 * 3 MiB proves the bound and keeps the file short (8 MiB ran the gateway out of memory before session 44: the ACP
 * mapper compared the whole output on each chunk, test/unit/acp-long-output.test.ts).
 */
const lineBytes = 64
const blocks = 48
const linesPerBlock = 1024
const writtenBytes = blocks * linesPerBlock * lineBytes

/**
 * The command: answers `pong` to each `ping` of its release fifo (codex, inside codex-acp, streams a command's
 * output only once it subscribed to it, some moment after the command started: the test pings until a `pong` is
 * stored), and on `go` writes blockingWriter's lines (its progress file says where it is).
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
 * An ACP session turn (acp:codex-acp) whose command prints far more than STORE_OUTAGE_HELD_MAX_BYTES while
 * PostgreSQL hangs (SIGSTOP): codex-acp streams the output as `_meta.terminal_output` tool call updates, and the
 * gateway holds at most the bound in its event pipe plus what the agent process's HeldOutput allows its turns to
 * hold unread (256 KiB), then gives the ACP SDK no next chunk of codex-acp's stdout (acp/held-stdout.ts), so
 * codex-acp blocks on its write. With the SDK reading the stdout as it came (Readable.toWeb), all codex-acp sent
 * piled up in the turn's queue meanwhile. A real codex-acp against the mock model, a real PostgreSQL frozen and
 * woken.
 */
describe("an ACP session turn's output while the store hangs", () => {
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
      // the session's process is the only one (none prepared for warm runs), shared: the pool knows it
      ACP_WARM_RUNS: 'false',
      ACP_SESSIONS_PER_PROCESS: '4',
    })
    await writeFile(path.join(gw.workspace, 'writer.pl'), writer)
  })
  afterAll(async () => {
    await gw?.close()
    await mock?.close()
    if (gw) expect(await waitUntilGone(() => processesUnder(gw.dir))).toEqual([])
  })

  const signalServer = (sig: NodeJS.Signals) => signalPostgres(server.ownServer().dir, sig)

  /** Counts the bytes (and terminal output chunks) the gateway reads of codex-acp's stdout from now on. */
  function countAgentReads() {
    // the driver's engine (agents/acp/engine.ts), loaded with the session's opening
    const { slots } = (
      gw.ctx.registry.get('acp:codex-acp') as unknown as {
        engine: {
          loaded: { leases: { pool: { slots: Map<string, { agent: { proc: { stdout: Readable } } }[]> } } }
        }
      }
    ).engine.loaded.leases.pool
    const agents = [...slots.values()].flat()
    expect(agents).toHaveLength(1)
    const stdout = agents[0]!.agent.proc.stdout
    const mark = '"terminal_output"'
    const counted = { bytes: 0, chunks: 0, carry: '' }
    const push = stdout.push.bind(stdout)
    stdout.push = (chunk: Buffer | null, encoding?: BufferEncoding) => {
      if (chunk) {
        counted.bytes += chunk.length
        const text = counted.carry + chunk.toString('latin1')
        counted.chunks += text.split(mark).length - 1
        // what may start a mark cut by the next read (a whole mark at its end was counted already)
        counted.carry = text.endsWith(mark) ? '' : text.slice(-(mark.length - 1))
      }
      return push(chunk, encoding)
    }
    return counted
  }

  it('holds the bound (codex-acp blocks on its write) and, once the store wakes, stores every chunk read once, in order', {
    timeout: 180_000,
  }, async () => {
    const created = await postJson(`${gw.url}/v1/sessions`, {
      agent: 'acp:codex-acp',
      // its command writes its progress file outside codex's sandbox
      sandbox: 'danger-full-access',
      approvalPolicy: 'never',
    })
    const session = (await created.json()) as Session
    expect(created.status, JSON.stringify(session)).toBe(201)
    const release = path.join(gw.workspace, 'release')
    const progress = path.join(gw.workspace, 'progress')
    expect(spawnSync('mkfifo', [release]).status).toBe(0)
    mock.setDefault({ kind: 'text', text: 'done' })
    mock.script(
      // in the turn as long as codex lets a command: codex-acp never sends the end of a command that outlived it
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
    const reads = countAgentReads()
    signalServer('SIGSTOP')
    // a watchdog, not a timing: whatever waits below, the server is not left frozen past the test
    const thaw = setTimeout(() => signalServer('SIGCONT'), 90_000)
    let most = 0
    let seen: { what: string; bytes: number; paused: number; read: number }
    try {
      await writeFile(release, 'go\n')
      // until the command wrote all (codex-acp keeps what it cannot send) or blocks, and the gateway reads no
      // more of codex-acp (paused), or read far more than any bound (before)
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
    // what the gateway read of codex-acp while the store hung: the pipe's bound, the turns' 256 KiB and a chunk
    // past it; before, all that codex-acp sent of the command's 3 MiB
    expect(
      seen.read,
      `the gateway read ${seen.read} bytes of codex-acp while the store was frozen`,
    ).toBeLessThanOrEqual(bound + 1024 * 1024)
    expect(seen.paused).toBe(1)
    // what the gateway held of it meanwhile: the bound and one event past it, the turns' 256 KiB and one chunk
    expect(most).toBeGreaterThan(bound / 2)
    expect(most).toBeLessThanOrEqual(bound + 512 * 1024)
    // the store woke: codex-acp goes on, and every chunk is stored once, in order
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
    // every chunk the gateway read of codex-acp since the freeze is stored, each once, in order (codex itself may
    // leave chunks its stream fell behind on out of what it sends, so not necessarily all the command's lines)
    const commandDeltas = events.filter(
      (e) => e.type === 'item.delta' && e.itemId === commandId && e.delta !== 'pong\n',
    ).length
    expect(commandDeltas).toBe(reads.chunks)
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
    expect((await postJson(`${gw.url}/v1/sessions/${session.id}/archive`, {})).status).toBe(200)
  })
})
