import type { ProcessOutcome } from '../../process/runner.js'

/** The last lines a process wrote to stderr (ANSI colors removed), kept to explain why it ended. */
export class StderrTail {
  private lines: string[] = []
  constructor(private readonly keep = 5) {}

  push(line: string): void {
    const clean = line.replace(ansi, '').trim()
    if (!clean) return
    this.lines.push(clean.length > 500 ? `${clean.slice(0, 500)}...` : clean)
    if (this.lines.length > this.keep) this.lines.shift()
  }

  toString(): string {
    return this.lines.join(' | ')
  }
}

const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g')

/** One sentence for errors: how the app-server process ended, plus what it last said on stderr. */
export function describeExit(name: string, outcome: ProcessOutcome, stderr: StderrTail): string {
  const how = outcome.error
    ? `could not start: ${outcome.error}`
    : outcome.reason === 'shutdown'
      ? 'was closed'
      : outcome.signal
        ? `was killed by ${outcome.signal}`
        : `exited with code ${outcome.exitCode}`
  const said = stderr.toString()
  return `${name} ${how}${said ? ` (stderr: ${said})` : ''}`
}
