import { useLayoutEffect, useRef } from 'preact/hooks'

/**
 * After a route change (not the first load), the new view's main heading takes the focus, as a page load would
 * have it start there: a keyboard or screen-reader user goes on from the view they reached (the heading is read
 * out), not from the document's top or a link the old view had. The view starts at its top. `main` is focused
 * when a view has no heading.
 */
export function useFocusOnNavigation(path: string, main: () => HTMLElement | null): void {
  const first = useRef(true)
  // at the route's own commit, before the new view can have shown (and followed) anything: an effect, run after a
  // paint, could scroll to the top a view that had already followed its run to the end
  useLayoutEffect(() => {
    if (first.current) {
      first.current = false
      return
    }
    const region = main()
    if (!region) return
    const heading = region.querySelector<HTMLElement>('h1') ?? region
    if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1')
    window.scrollTo(0, 0)
    heading.focus({ preventScroll: true })
  }, [path])
}
