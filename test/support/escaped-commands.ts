import { expect } from 'vitest'
import type { AgentEvent } from '../../src/protocol/events.js'
import type { Run } from '../../src/protocol/runs.js'
import { completionOf, waitFor } from '../contract/driver-contract.js'
import { postJson } from './gateway.js'
import type { ProcInfo } from './processes.js'
import { waitUntilGone } from './processes.js'

// A command that escaped its agent's process tree (a double fork) must end with its run: these cancel a run once
// `escaped` lists what its command left, and check that it is gone.

/** A driver's run (`run` given the signal) cancelled once its command started and escaped: what escaped ends. */
export async function expectCancelEndsEscaped(
  run: (signal: AbortSignal) => AsyncIterable<AgentEvent>,
  escaped: () => ProcInfo[],
): Promise<void> {
  const controller = new AbortController()
  const seen: AgentEvent[] = []
  for await (const ev of run(controller.signal)) {
    seen.push(ev)
    if (!controller.signal.aborted && ev.type === 'item.started' && ev.item.type === 'command_execution') {
      await waitFor(() => escaped().length > 0)
      controller.abort('cancelled')
    }
  }
  expect(completionOf(seen)).toMatchObject({ status: 'cancelled' })
  expect(await waitUntilGone(escaped, 30_000)).toEqual([])
}

/** A /v1 run (`body`) on the gateway at `url` cancelled once its command escaped: what escaped ends. */
export async function expectCancelledRunEndsEscaped(
  url: string,
  body: Record<string, unknown>,
  escaped: () => ProcInfo[],
): Promise<void> {
  const res = await postJson(`${url}/v1/runs`, body)
  expect(res.status).toBe(202)
  const run = (await res.json()) as Run
  await waitFor(() => escaped().length > 0)
  expect((await postJson(`${url}/v1/runs/${run.id}/cancel`, {})).status).toBe(200)
  expect(await waitUntilGone(escaped, 30_000)).toEqual([])
}
