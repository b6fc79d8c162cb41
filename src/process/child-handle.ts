import type { Readable, Writable } from 'node:stream'

/** What to start: a program that leads a process group of its own, with piped stdio. */
export interface ChildSpec {
  command: string
  args: string[]
  cwd: string
  env: NodeJS.ProcessEnv
}

export interface ChildExit {
  code: number | null
  signal: NodeJS.Signals | null
}

/**
 * A child being started, however it is spawned (paced on this thread, or by the spawn host). The stdio
 * streams exist at once; what is written to stdin before the child runs reaches it once it does.
 */
export interface ChildHandle {
  stdin: Writable
  stdout: Readable
  stderr: Readable
  /** The pid once the program runs; rejects with the spawn error (ENOENT, EACCES, a bad cwd, ...). */
  started: Promise<number>
  /** When the program (the group's leader) exited; never settles if it did not start. */
  exited: Promise<ChildExit>
  /** When it exited and its stdout and stderr were closed (its descendants may hold them). */
  closed: Promise<ChildExit>
}
