/**
 * A module (or what is made from it) loaded on its first use rather than with the server: `loaded` is it once
 * `load()` has resolved, so a caller stays synchronous from then on (no await, no extra microtask per call). A
 * failed load is tried again by the next `load()`.
 */
export interface FirstUse<T> {
  readonly loaded: T | undefined
  /** Whether a load is under way (its `load()` not settled yet). */
  readonly loading: boolean
  load(): Promise<T>
}

export function firstUse<T>(make: () => Promise<T>): FirstUse<T> {
  let value: T | undefined
  let loading: Promise<T> | undefined
  return {
    get loaded() {
      return value
    },
    get loading() {
      return value === undefined && loading !== undefined
    },
    load() {
      if (value !== undefined) return Promise.resolve(value)
      loading ??= make().then(
        (made) => {
          value = made
          return made
        },
        (err: unknown) => {
          loading = undefined
          throw err
        },
      )
      return loading
    },
  }
}
