/**
 * The bench's side of bench/gateway-process.ts: a gateway in a process of its own (as `npm start` runs it), its
 * URL, and its CPU, event-loop delay and memory on request. Used by bench/event-relay.ts (`--gateway process`)
 * and bench/session-turns.ts (`--gateway-process`).
 */

import { type ChildProcess, spawn } from 'node:child_process'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { BenchError } from './options.js'
import type { TracedRun } from './relay-attribution.js'
import { monoMs } from './relay-trace-gateway.js'

/** The script the process runs. */
export const gatewayScript = path.join(import.meta.dirname, 'gateway-process.ts')

/**
 * The gateway process's answers (JSON lines); anything else it prints on stdout (V8's --trace-gc with
 * --gateway-node-args) goes to stderr, with the time, so GC reasons can be matched with slow events.
 */
async function* answers(lines: AsyncIterable<string>): AsyncGenerator<string> {
  for await (const line of lines) {
    if (line.startsWith('{')) yield line
    else process.stderr.write(`gateway ${monoMs().toFixed(1)}: ${line}\n`)
  }
}

/** bench/gateway-process.ts: a gateway in a child process, and its CPU and event-loop delay on request. */
export class GatewayProcess {
  private constructor(
    readonly child: ChildProcess,
    private readonly lines: AsyncIterator<string>,
    readonly url: string,
    readonly node: string | null,
  ) {}

  static async start(
    env: NodeJS.ProcessEnv,
    cwd: string,
    nodeArgs: string[] = [],
    trace = false,
    built = false,
  ): Promise<GatewayProcess> {
    // tsx by its file URL: the gateway's directory (its cwd) has no node_modules
    const child = spawn(
      process.execPath,
      [...nodeArgs, '--import', import.meta.resolve('tsx'), gatewayScript],
      {
        cwd,
        env: {
          ...env,
          // as `npm start` runs it (MALLOC_ARENA_MAX=1), and any other glibc malloc tunable this bench was given
          MALLOC_ARENA_MAX: '1',
          ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('MALLOC_'))),
          ...(trace ? { AGW_BENCH_TRACE: '1' } : {}),
          ...(process.env.AGW_BENCH_THREAD_IDS
            ? { AGW_BENCH_THREAD_IDS: process.env.AGW_BENCH_THREAD_IDS }
            : {}),
          ...(built ? { AGW_BENCH_BUILT: '1' } : {}),
          // bench/gateway-process.ts samples the gateway's allocations when this is set
          ...(process.env.AGW_BENCH_HEAP_SAMPLE
            ? { AGW_BENCH_HEAP_SAMPLE: process.env.AGW_BENCH_HEAP_SAMPLE }
            : {}),
        },
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    )
    const lines = answers(createInterface({ input: child.stdout! }))
    const first = await lines.next()
    if (first.done) throw new BenchError('bench/gateway-process.ts exited before it listened')
    const ready = JSON.parse(first.value) as { url: string; node: string | null }
    return new GatewayProcess(child, lines, ready.url, ready.node)
  }

  private async ask<T>(command: string): Promise<T> {
    this.child.stdin!.write(`${command}\n`)
    const r = await this.lines.next()
    if (r.done) throw new BenchError('the gateway process exited')
    return JSON.parse(r.value) as T
  }

  /** Starts its CPU and event-loop measurement. */
  mark(): Promise<unknown> {
    return this.ask('mark')
  }

  /** CPU ms and event-loop delay since the last mark. */
  usage(): Promise<{
    cpuMs: number
    /** CPU ms by thread name since the mark (bench/thread-cpu.ts). */
    threads?: Record<string, number>
    pageFaults?: number
    loopP99Ms: number
    loopMaxMs: number
    gcMs?: number
    gcMaxMs?: number
    gcMajors?: number
    /** The young generation since the mark: scavenges, the bytes they found, the bytes promoted, the new space's size. */
    scavenges?: number
    youngBytes?: number
    promotedBytes?: number
    newSpaceBytes?: number
  }> {
    return this.ask('usage')
  }

  /** The gateway's step times of each event since the last mark (started with trace). */
  trace(): Promise<NonNullable<TracedRun['gateway']>> {
    return this.ask('trace')
  }

  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) resolve()
      else this.child.once('close', () => resolve())
    })
    this.child.stdin!.end()
    await exited
  }
}
