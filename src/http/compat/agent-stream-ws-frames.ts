import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'
import type { BodyClockLimits } from '../body-clock.js'
import { FrameClock, type FrameStall } from './agent-stream-frame-clock.js'

/**
 * The part of ws's Receiver (ws/lib/receiver.js, ws 8) read here. `ws` bounds a message's size (`maxPayload`)
 * but not the time it takes to arrive, and says nowhere public whether a message is half received: its
 * receiver's parse state does. A receiver without these fields (another `ws`) disables the clock.
 */
interface ReceiverState {
  /** 0 (GET_INFO) between frames; 1-4 inside a frame's head or payload; 5-6 a message being delivered. */
  _state: number
  /** Bytes received and not yet parsed: the start of a frame. */
  _bufferedBytes: number
  /** The opcode of a fragmented message whose last fragment has not come; 0 when none. */
  _fragmented: number
}

const inFrameStates = new Set([1, 2, 3, 4])

function receiverOf(ws: WebSocket): ReceiverState | undefined {
  const r = (ws as unknown as { _receiver?: Partial<ReceiverState> })._receiver
  return typeof r?._state === 'number' &&
    typeof r._bufferedBytes === 'number' &&
    typeof r._fragmented === 'number'
    ? (r as ReceiverState)
    : undefined
}

/** Whether a message is partly received: in a frame's head or payload, or between the fragments of one. */
const inFlight = (r: ReceiverState) =>
  inFrameStates.has(r._state) || r._bufferedBytes > 0 || r._fragmented !== 0

/**
 * Puts a FrameClock (BODY_IDLE_SECONDS, BODY_MIN_BYTES_PER_SECOND within one message) on a WebSocket: after
 * each read of its socket, the clock runs while a message is half received and stops between messages. The
 * clock it returns is paused while the route handles a message. Undefined when the receiver cannot be read.
 */
export function clockWsFrames(
  ws: WebSocket,
  socket: Socket,
  limits: BodyClockLimits,
  onStall: (stall: FrameStall) => void,
): FrameClock | undefined {
  const receiver = receiverOf(ws)
  if (!receiver) return undefined
  const clock = new FrameClock(limits, onStall)
  let ended = false
  let partial = 0
  ws.on('message', () => {
    ended = true
  })
  // after ws's own listener (it was added at the upgrade): the receiver has parsed the chunk
  socket.on('data', (chunk: Buffer) => {
    const open = inFlight(receiver)
    partial = !open ? 0 : ended ? receiver._bufferedBytes : partial + chunk.length
    clock.read(ended, open ? Math.max(partial, 1) : 0)
    ended = false
  })
  socket.once('close', () => clock.stop())
  return clock
}
