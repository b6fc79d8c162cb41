import type { ComponentChildren } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { href } from '../router.js'

const sections = [
  ['new', 'New run'],
  ['runs', 'History'],
  ['sessions', 'Sessions'],
  ['approvals', 'Approvals'],
  ['agents', 'Agents'],
] as const

/**
 * The header: the brand, the sections and the links (`links`). At a desk all of it on one row; on a phone (CSS,
 * max-width 600px) the brand and a Menu button, which opens the rest in a panel laid over the view under it (a
 * disclosure: aria-expanded, which the button's look follows; the panel is next in Tab order). It closes on Escape
 * (the focus back on Menu), on a new route (`place`: a section followed, a run opened, Back), on a tap elsewhere and
 * when the focus leaves the header (Tab past its last link: the view it covers has the focus then). A tap elsewhere
 * only closes it, as a phone's own menus do: it lands on a backdrop laid over the page while the menu is open (closing
 * on pointerdown let the tap go on to what it hit: Start session started one, a checkbox under it changed). A drag
 * there scrolls the page and closes the menu (before: it did nothing, the page stuck under a finger that meant to
 * scroll it; open, the menu would have gone up and away with the header). The Menu button carries the approvals'
 * count while the menu is closed.
 */
export function SiteHeader({
  section,
  place,
  count,
  links,
}: {
  section: string
  place: string
  count: number
  links: ComponentChildren
}) {
  const [open, setOpen] = useState(false)
  const header = useRef<HTMLElement>(null)
  const toggle = useRef<HTMLButtonElement>(null)
  // a new view, in another section or the same one (a run of History): the menu closes (the focus goes to the
  // view's heading: focus-on-navigation.ts)
  useEffect(() => setOpen(false), [place])
  useEffect(() => {
    if (!open) return
    // Escape: closed; the focus, when in the header (on a link of the menu, which goes), back on Menu
    const onEscape = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return
      e.preventDefault()
      setOpen(false)
      if (header.current?.contains(document.activeElement)) toggle.current?.focus()
    }
    // the focus gone on past the menu (Tab from its last link): the panel would cover where it went
    const left = (e: FocusEvent) => {
      const to = e.relatedTarget as Node | null
      if (to && !header.current?.contains(to)) setOpen(false)
    }
    const at = header.current
    document.addEventListener('keydown', onEscape)
    at?.addEventListener('focusout', left)
    return () => {
      document.removeEventListener('keydown', onEscape)
      at?.removeEventListener('focusout', left)
    }
  }, [open])
  const badge = (testId: string, said: string) =>
    count > 0 && (
      <span class="count" data-testid={testId}>
        {count}
        <span class="sr-only">{said}</span>
      </span>
    )
  return (
    <header ref={header} class="top">
      <a class="brand" href={href('new')}>
        agent-gateway
      </a>
      <button
        ref={toggle}
        type="button"
        class="menu-toggle secondary"
        aria-expanded={open}
        aria-controls="site-menu"
        onClick={() => setOpen(!open)}
      >
        Menu{!open && badge('menu-count', count === 1 ? ' approval pending' : ' approvals pending')}
      </button>
      {/* what a touch outside the menu lands on (the rest of the header's row too): a tap closes the menu, nothing
          more; a drag scrolls the page as it would without the menu, and closes it (the browser took the gesture:
          pointercancel, no click follows), as does a mouse's wheel */}
      {open && (
        <div
          class="menu-backdrop"
          aria-hidden="true"
          onClick={() => setOpen(false)}
          onPointerCancel={() => setOpen(false)}
          onWheel={() => setOpen(false)}
        />
      )}
      <div id="site-menu" class="site-menu" data-open={open || undefined}>
        <nav aria-label="Sections">
          {/* a section followed closes the menu, the current one's too (its route does not change) */}
          {sections.map(([key, label]) => (
            <a
              key={key}
              href={href(key)}
              aria-current={section === key ? 'page' : undefined}
              data-nav={key}
              onClick={() => setOpen(false)}
            >
              {label}
              {key === 'approvals' && badge('approval-count', ' pending')}
            </a>
          ))}
        </nav>
        <div class="links">{links}</div>
      </div>
    </header>
  )
}
