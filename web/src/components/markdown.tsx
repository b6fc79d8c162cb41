import DOMPurify from 'dompurify'
import { marked } from 'marked'
import { useLayoutEffect, useMemo, useRef } from 'preact/hooks'

/**
 * Agent text as Markdown, sanitized (DOMPurify) before it reaches the page. A table scrolls sideways in a region
 * of its own (on a phone, a wide table squeezed to the screen broke every word); while it is wider than its
 * region, the region is a Tab stop named "Table" (to scroll it with the arrow keys), and only then: a table that
 * fits is no stop for the keyboard to pass. Kept right as the screen or the table changes size (scrollRegions).
 */
export function Markdown({ text }: { text: string }) {
  const html = useMemo(
    () => scrollingTables(DOMPurify.sanitize(marked.parse(text, { async: false, gfm: true }))),
    [text],
  )
  const ref = useRef<HTMLDivElement>(null)
  useLayoutEffect(() => scrollRegions(ref.current!), [html])
  return <div ref={ref} class="markdown" dangerouslySetInnerHTML={{ __html: html }} />
}

/** Each table in sanitized HTML (where `<table` is only ever a tag: text has it escaped) wrapped in its region. */
const scrollingTables = (html: string) =>
  html
    .replace(/<table[\s>]/g, (tag) => `<div class="table-scroll">${tag}`)
    .replace(/<\/table>/g, '</table></div>')

/**
 * Makes each table region under `root` focusable, with its role and name, while its table overflows it, and not
 * while it fits: at once, then whenever the region (the screen) or its table changes size. Returns the cleanup.
 */
function scrollRegions(root: HTMLElement): () => void {
  const regions = [...root.querySelectorAll<HTMLElement>('.table-scroll')]
  if (regions.length === 0) return () => {}
  const update = (region: HTMLElement) => {
    const overflows = region.scrollWidth > region.clientWidth
    if (overflows === region.hasAttribute('tabindex')) return
    if (overflows) {
      region.setAttribute('tabindex', '0')
      region.setAttribute('role', 'region')
      region.setAttribute('aria-label', 'Table')
    } else {
      region.removeAttribute('tabindex')
      region.removeAttribute('role')
      region.removeAttribute('aria-label')
    }
  }
  regions.forEach(update)
  const observer = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const region = (entry.target as HTMLElement).closest<HTMLElement>('.table-scroll')
      if (region) update(region)
    }
  })
  for (const region of regions) {
    observer.observe(region)
    const table = region.querySelector('table')
    if (table) observer.observe(table)
  }
  return () => observer.disconnect()
}
