/** Where a ByteQueue's owner counts the bytes queued: added as items come, taken as they are taken or let go. */
export interface ByteCount {
  add(bytes: number): void
  take(bytes: number): void
}

/**
 * Items between a producer that pushes and one reader that iterates, with the bytes of each (`measure`) counted
 * while it is queued, here (`queuedBytes`) and in the owner's `count` (a bound that holds its producer: HeldOutput).
 * `close` ends the iteration once what is queued is taken; `release` drops what is queued (counted no more) and
 * what comes later, and ends it at once. Taken items are compacted away as they pile up, not shifted one by one.
 */
export class ByteQueue<T> implements AsyncIterable<T> {
  private readonly items: { item: T; bytes: number }[] = []
  /** The next item to take (items before it are taken; compacted as they pile up). */
  private head = 0
  private bytes = 0
  private closed = false
  private waiting: ((more: boolean) => void) | undefined

  constructor(
    private readonly measure: (item: T) => number,
    private readonly count?: ByteCount,
  ) {}

  /** How many items are queued now. */
  get size(): number {
    return this.items.length - this.head
  }

  /** The bytes queued now (`measure`'s). */
  get queuedBytes(): number {
    return this.bytes
  }

  push(item: T): void {
    if (this.closed) return
    const bytes = this.measure(item)
    this.items.push({ item, bytes })
    if (bytes > 0) {
      this.bytes += bytes
      this.count?.add(bytes)
    }
    this.wake(true)
  }

  /** No more items: the reader takes what is queued, then the iteration ends. */
  close(): void {
    this.closed = true
    this.wake(false)
  }

  /** The reader left (or is let go): everything queued is dropped, nothing more is queued, the iteration ends. */
  release(): void {
    this.closed = true
    const bytes = this.bytes
    this.bytes = 0
    this.items.length = 0
    this.head = 0
    if (bytes > 0) this.count?.take(bytes)
    this.wake(false)
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      const next = this.items[this.head]
      if (next) {
        this.take(next.bytes)
        yield next.item
        continue
      }
      if (this.closed) return
      const more = await new Promise<boolean>((resolve) => {
        this.waiting = resolve
      })
      if (!more && this.size === 0) return
    }
  }

  private take(bytes: number): void {
    this.head++
    if (this.head === this.items.length) {
      this.items.length = 0
      this.head = 0
    } else if (this.head >= 1024) {
      this.items.splice(0, this.head)
      this.head = 0
    }
    if (bytes > 0) {
      this.bytes -= bytes
      this.count?.take(bytes)
    }
  }

  private wake(more: boolean): void {
    const waiting = this.waiting
    this.waiting = undefined
    waiting?.(more)
  }
}
