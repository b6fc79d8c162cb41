import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const tsxLoader = import.meta.resolve('tsx')

/** Runs `bench/<script>` with `args` under tsx; its exit code and output. */
function runBench(script: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const file = fileURLToPath(new URL(`../../bench/${script}`, import.meta.url))
  const child = spawn(process.execPath, ['--import', tsxLoader, file, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  for (const stream of [child.stdout, child.stderr])
    stream.setEncoding('utf8').on('data', (d: string) => {
      out += d
    })
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out })))
}

/**
 * The benches that drive a store directly (no gateway) make the store calls the core makes, so they break when the
 * store's rules change (bench/session-wal.ts threw 503 worker_unavailable once createSession took only member
 * nodes). tsc checks their types; this runs them, with the smallest parameters, to the end of their report.
 */
describe('store benches run to their report', () => {
  it.concurrent('session-wal', async () => {
    const { code, out } = await runBench('session-wal.ts', ['--turns', '1'])
    expect(out).toMatch(/^WAL: +\d+ B in all/m)
    expect(code).toBe(0)
  })

  it.concurrent('missing-end-search', async () => {
    const { code, out } = await runBench('missing-end-search.ts', '--runs 2 --events 1 --repeat 1'.split(' '))
    expect(out).toMatch(/2 finished runs of a dead node, 1 events each: search median/)
    expect(code).toBe(0)
  })

  it.concurrent('event-append', async () => {
    const { code, out } = await runBench('event-append.ts', ['--rounds', '1', '--events', '1'])
    expect(out).toMatch(/\| 2 KB +\| none \(hot\) +\| this build +\| +[\d.]+ \|/)
    expect(code).toBe(0)
  })
})
