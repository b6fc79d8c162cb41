import { agentLineChars } from '../util/agent-line.js'

/**
 * Splits text chunks into lines, keeping a partial line until its newline arrives; runaway lines are cut. Lines
 * come without their end (`\n`, and a `\r` before it), or exactly as written with `keepEnds` (seed 001's /run
 * frames: one line of output each, with its newline, as its original read them).
 */
export class LineSplitter {
  private buffered = ''
  /** A line whose newline arrived. */
  private readonly ended: (line: string) => string
  /** A piece of a runaway line, or the last line, which had no newline. */
  private readonly finish: (line: string) => string

  constructor(
    private readonly maxLineChars = agentLineChars,
    { keepEnds = false }: { keepEnds?: boolean } = {},
  ) {
    this.finish = keepEnds ? (line) => line : stripCr
    this.ended = keepEnds ? (line) => `${line}\n` : stripCr
  }

  push(chunk: string): string[] {
    const parts = chunk.split('\n')
    const rest = parts.pop() ?? ''
    const lines = parts.length ? [this.buffered + parts[0], ...parts.slice(1)].map(this.ended) : []
    this.buffered = parts.length ? rest : this.buffered + rest
    while (this.buffered.length > this.maxLineChars) {
      lines.push(this.finish(this.buffered.slice(0, this.maxLineChars)))
      this.buffered = this.buffered.slice(this.maxLineChars)
    }
    return lines
  }

  end(): string[] {
    const rest = this.buffered
    this.buffered = ''
    return rest ? [this.finish(rest)] : []
  }
}

const stripCr = (line: string) => (line.endsWith('\r') ? line.slice(0, -1) : line)
