import type { RefObject } from 'preact'
import { useEffect, useRef } from 'preact/hooks'

/**
 * A control of `container` that is disabled or goes while it has the focus (Send once the box is cleared,
 * Interrupt once the turn ended, an approval's answer once its card goes, Cancel run once the run ended) would
 * drop the keyboard's focus to the page's top: `fallback` (the message box, the view's heading) takes it instead;
 * it is told the control that lost it. Focus a person moved elsewhere, or off every control (a click on text), is
 * left where it went.
 */
export function useFocusRescue(
  container: RefObject<HTMLElement | null>,
  fallback: (lost: HTMLElement) => HTMLElement | null | undefined,
): void {
  const latest = useRef(fallback)
  latest.current = fallback
  useEffect(() => {
    const region = container.current
    if (!region) return
    const onFocusOut = (e: FocusEvent) => {
      if (e.relatedTarget) return
      const lost = e.target as HTMLElement
      // Chromium tells a removed control's blur at once, a disabled one's a task later: read both after it
      setTimeout(() => {
        const gone = !lost.isConnected || (lost as HTMLButtonElement).disabled === true
        const dropped = document.activeElement === null || document.activeElement === document.body
        if (gone && dropped) latest.current(lost)?.focus({ preventScroll: true })
      })
    }
    region.addEventListener('focusout', onFocusOut)
    return () => region.removeEventListener('focusout', onFocusOut)
  }, [])
}

/**
 * Whether the screen is touched (the pointer is coarse: a phone, a tablet): a text field given the focus there
 * may open the on-screen keyboard, which covers half the screen.
 */
export const touchScreen = () => matchMedia('(pointer: coarse)').matches
