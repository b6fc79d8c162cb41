import { open } from 'node:fs/promises'
import { z } from 'zod'

/** How much of a rollout's end is read for a call: the turn running now is at its end. */
const tailBytes = 4 * 1024 * 1024

const rolloutFunctionCall = z.looseObject({
  type: z.literal('response_item'),
  payload: z.looseObject({ type: z.literal('function_call'), call_id: z.string(), arguments: z.string() }),
})

/**
 * The arguments of the model's function call `callId` as codex recorded it in the thread's rollout file (a JSON
 * line `{"type":"response_item","payload":{"type":"function_call","call_id":…,"arguments":…}}`, written before
 * codex asks about the call: codex 0.171), read from the file's last 4 MiB; undefined when it is not there (or the
 * file cannot be read). Lines are parsed, never matched as text: a model's output holding such a line is a string
 * inside another line.
 */
export async function callInRollout(file: string, callId: string): Promise<string | undefined> {
  let text: string
  try {
    const handle = await open(file, 'r')
    try {
      const { size } = await handle.stat()
      const start = Math.max(0, size - tailBytes)
      const buffer = Buffer.alloc(size - start)
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, start)
      text = buffer.subarray(0, bytesRead).toString('utf8')
    } finally {
      await handle.close()
    }
  } catch {
    return undefined
  }
  const lines = text.split('\n')
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]
    if (!line?.includes(callId)) continue
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch {
      // the first line of the tail may be cut
      continue
    }
    const call = rolloutFunctionCall.safeParse(parsed)
    if (call.success && call.data.payload.call_id === callId) return call.data.payload.arguments
  }
  return undefined
}
