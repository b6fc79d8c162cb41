/** Splits text chunks into lines, keeping a partial line until its newline arrives; runaway lines are cut. */
export class LineSplitter {
  private buffered = ''

  constructor(private readonly maxLineChars = 8 * 1024 * 1024) {}

  push(chunk: string): string[] {
    const parts = chunk.split('\n')
    const rest = parts.pop() ?? ''
    const lines = parts.length ? [this.buffered + parts[0], ...parts.slice(1)] : []
    this.buffered = parts.length ? rest : this.buffered + rest
    while (this.buffered.length > this.maxLineChars) {
      lines.push(this.buffered.slice(0, this.maxLineChars))
      this.buffered = this.buffered.slice(this.maxLineChars)
    }
    return lines.map(stripCr)
  }

  end(): string[] {
    const rest = this.buffered
    this.buffered = ''
    return rest ? [stripCr(rest)] : []
  }
}

const stripCr = (line: string) => (line.endsWith('\r') ? line.slice(0, -1) : line)
