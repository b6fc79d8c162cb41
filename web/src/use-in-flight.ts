import { useRef } from 'preact/hooks'

/**
 * One request at a time per action: a second tap (a double tap on a phone, a double click) while the first
 * request is under way does nothing, so Send sends one turn, Fork makes one fork, Start session starts one, an
 * approval is answered once. Kept in a ref, not in state: the second click of a double click can come before a
 * render. The buttons are not disabled meanwhile (a disabled button drops the keyboard's focus to the page).
 */
export function useInFlight() {
  const running = useRef(new Set<string>())
  const once = async (name: string, action: () => Promise<void>): Promise<void> => {
    if (running.current.has(name)) return
    running.current.add(name)
    try {
      await action()
    } finally {
      running.current.delete(name)
    }
  }
  return { once }
}
