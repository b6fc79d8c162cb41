import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'

/** How close to the end of the conversation still counts as at its end (a finger's scroll is not exact). */
const slack = 48

/**
 * The view follows the tail while new output arrives, as a terminal does, but only while the reader is at the end
 * of it: one who scrolled up to read stays where they are, and `behind` tells the view to offer a way back ("New
 * output"). `end` is an element the view puts right after its conversation: whether it is on the screen (or
 * `slack` pixels from it) is whether the reader is at the end. `changed` is anything that changes when the view
 * grows (the newest event, the number of turns); `news` whether that growth is new (after what the view first read:
 * a replay of the history does not move the view). `toEnd` goes to the end and follows again (after a Send, or
 * "New output").
 */
export function useFollowTail(changed: unknown, news: boolean) {
  const end = useRef<HTMLDivElement>(null)
  // read in the render's layout effect, before the observer has said anything about what the render added
  const atEnd = useRef(true)
  const [following, setFollowing] = useState(true)
  const [behind, setBehind] = useState(false)
  useEffect(() => {
    const observer = new IntersectionObserver(
      () => {
        // what is on the screen now, not the entry's word: an entry queued before a scroll can come after it (the
        // end seen while a scroll up already left it), and would put the reader back at the end
        const onScreen = endOnScreen(end.current!)
        setFollowing(onScreen)
        if (!onScreen) return
        atEnd.current = true
        setBehind(false)
      },
      { rootMargin: `0px 0px ${slack}px 0px` },
    )
    observer.observe(end.current!)
    // Only the reader leaves the end: a scroll up from it. The view growing under a reader at its end (a block that
    // grew, the facts that came after the events) moved the end away without a scroll: it still follows (before,
    // the observer's word "off the screen" then stopped it, and the run's later output was never shown).
    let lastY = window.scrollY
    const onScroll = () => {
      const y = window.scrollY
      if (distanceToEnd() <= slack) atEnd.current = true
      else if (y < lastY) atEnd.current = false
      lastY = y
    }
    window.addEventListener('scroll', onScroll, { passive: true })
    return () => {
      observer.disconnect()
      window.removeEventListener('scroll', onScroll)
    }
  }, [])
  useLayoutEffect(() => {
    if (!news) return
    if (atEnd.current) scrollToEnd()
    else setBehind(true)
  }, [changed])
  const toEnd = () => {
    atEnd.current = true
    scrollToEnd()
    setBehind(false)
  }
  /** "New output": to the end, the focus (the button goes) on the newest block, which a screen reader reads. */
  const jump = () => {
    toEnd()
    const blocks = end.current?.parentElement?.querySelectorAll<HTMLElement>('.block')
    const newest = blocks?.[blocks.length - 1]
    if (!newest) return
    newest.tabIndex = -1
    newest.focus({ preventScroll: true })
  }
  return { end, behind, following, toEnd, jump }
}

const scrollToEnd = () => window.scrollTo(window.scrollX, document.documentElement.scrollHeight)

/** The observer's test (the end within the screen, `slack` below it included), made now. */
const endOnScreen = (end: HTMLElement) => {
  const { top, bottom } = end.getBoundingClientRect()
  return bottom >= 0 && top <= window.innerHeight + slack
}

const distanceToEnd = () => document.documentElement.scrollHeight - window.innerHeight - window.scrollY
