/** A minimal push -> async-iterate queue: producers push, one consumer iterates until close(). */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private items: T[] = []
  private waiting: ((r: IteratorResult<T>) => void) | undefined
  private closed = false

  push(item: T): void {
    if (this.closed) return
    const waiter = this.waiting
    if (waiter) {
      this.waiting = undefined
      waiter({ value: item, done: false })
    } else this.items.push(item)
  }

  get size(): number {
    return this.items.length
  }

  /** Drops everything buffered (the consumer will re-read it from elsewhere). */
  clear(): void {
    this.items.length = 0
  }

  close(): void {
    this.closed = true
    const waiter = this.waiting
    this.waiting = undefined
    waiter?.({ value: undefined, done: true })
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      if (this.items.length > 0) {
        yield this.items.shift()!
        continue
      }
      if (this.closed) return
      const next = await new Promise<IteratorResult<T>>((resolve) => {
        this.waiting = resolve
      })
      if (next.done) return
      yield next.value
    }
  }
}
