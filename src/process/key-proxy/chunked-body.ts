import { FramingError, headerField } from './http-framing.js'

// a chunk size (hex; no spaces) and its extensions: `;name` or `;name=token` or `;name="quoted"`
const tchar = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]"
const quoted = '"(?:[\\t !#-\\[\\]-~\\x80-\\xff]|\\\\[\\t -~\\x80-\\xff])*"'
const sizeLine = new RegExp(`^([0-9a-fA-F]{1,12})(?:;${tchar}+(?:=(?:${tchar}+|${quoted}))?)*$`)

/**
 * Follows a chunked body through the buffers it comes in: where it ends and how many data bytes it held. A chunk
 * line or trailer llhttp would not read so throws (FramingError 400).
 */
export class ChunkedBody {
  private state: 'size' | 'data' | 'cr' | 'lf' | 'trailer' = 'size'
  private line = ''
  private left = 0
  /** Data bytes so far (without the framing). */
  dataBytes = 0

  /** How many bytes of `buf` from `start` belong to the body, and whether it ended with them. */
  scan(buf: Buffer, start: number): { used: number; done: boolean } {
    let i = start
    while (i < buf.length) {
      if (this.state === 'data') {
        const take = Math.min(this.left, buf.length - i)
        i += take
        this.left -= take
        if (this.left === 0) this.state = 'cr'
      } else if (this.state === 'cr' || this.state === 'lf') {
        if (buf[i] !== (this.state === 'cr' ? 13 : 10)) throw new FramingError(400, 'malformed chunk')
        i++
        this.state = this.state === 'cr' ? 'lf' : 'size'
      } else {
        const lf = buf.indexOf(10, i)
        const end = lf < 0 ? buf.length : lf
        this.line += buf.toString('latin1', i, end)
        if (this.line.length > 4096) throw new FramingError(400, 'chunk line too long')
        i = lf < 0 ? buf.length : lf + 1
        if (lf < 0) break
        if (!this.line.endsWith('\r')) throw new FramingError(400, 'malformed chunk line')
        const line = this.line.slice(0, -1)
        this.line = ''
        if (this.state === 'trailer') {
          if (line === '') return { used: i - start, done: true }
          headerField(line)
          continue
        }
        const size = sizeLine.exec(line)
        if (!size) throw new FramingError(400, 'malformed chunk size')
        this.left = Number.parseInt(size[1] ?? '', 16)
        this.dataBytes += this.left
        this.state = this.left === 0 ? 'trailer' : 'data'
      }
    }
    return { used: i - start, done: false }
  }
}
