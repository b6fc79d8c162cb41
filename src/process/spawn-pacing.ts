/**
 * At most one spawn per event-loop turn. `child_process.spawn()` is synchronous: it forks this (large) process
 * and waits until the child has exec'd, tens of ms each on a loaded machine. A burst of spawns run back to back
 * keeps every other request waiting for all of them; paced, the loop handles I/O (other requests, timers)
 * between two spawns, so a request waits for one spawn at most.
 */
const waiting: Array<() => void> = []
let spawnedThisTurn = false

/** Runs `spawn` now when no spawn ran in this turn (returns true), else in a later turn, in order. */
export function paceSpawn(spawn: () => void): boolean {
  if (!spawnedThisTurn && waiting.length === 0) {
    spawnedThisTurn = true
    setImmediate(nextTurn)
    spawn()
    return true
  }
  waiting.push(spawn)
  return false
}

// setImmediate runs after the loop polled for I/O: every queued spawn gets a turn of its own
function nextTurn(): void {
  const spawn = waiting.shift()
  if (!spawn) {
    spawnedThisTurn = false
    return
  }
  setImmediate(nextTurn)
  spawn()
}
