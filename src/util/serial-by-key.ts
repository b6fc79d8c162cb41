/**
 * Runs the steps given for one key one after another, in the order they were given (steps of different keys
 * run side by side). A step starts at once when nothing of its key is in progress; one that fails does not
 * stop the next. A key is forgotten once its last step ended.
 */
export class SerialByKey {
  private readonly tails = new Map<string, Promise<void>>()

  run<T>(key: string, step: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key)
    const result = before ? before.then(step) : startNow(step)
    const tail = result.then(
      () => {},
      () => {},
    )
    this.tails.set(key, tail)
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key)
    })
    return result
  }

  /** Keys with a step in progress (or waiting). */
  get size(): number {
    return this.tails.size
  }
}

/** A step started now; a synchronous throw becomes its rejection, as it would inside `then`. */
function startNow<T>(step: () => Promise<T>): Promise<T> {
  try {
    return step()
  } catch (err) {
    return Promise.reject(err)
  }
}
