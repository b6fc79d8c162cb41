/** Signal a whole process group; a group that is already gone is not an error. */
export function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false
    throw err
  }
}

/** SIGTERM the group now, SIGKILL it after `graceMs` unless the caller clears the returned timer. */
export function terminateGroup(pid: number, graceMs: number): NodeJS.Timeout | undefined {
  if (!killGroup(pid, 'SIGTERM')) return undefined
  const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs)
  timer.unref()
  return timer
}
