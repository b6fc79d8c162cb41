import DOMPurify from 'dompurify'
import { marked } from 'marked'
import { useMemo } from 'preact/hooks'

/**
 * Agent text as Markdown, sanitized (DOMPurify) before it reaches the page. A table scrolls sideways in a region
 * of its own that the keyboard reaches (on a phone, a wide table squeezed to the screen broke every word).
 */
export function Markdown({ text }: { text: string }) {
  const html = useMemo(
    () => scrollingTables(DOMPurify.sanitize(marked.parse(text, { async: false, gfm: true }))),
    [text],
  )
  return <div class="markdown" dangerouslySetInnerHTML={{ __html: html }} />
}

/** Each table in sanitized HTML (where `<table` is only ever a tag: text has it escaped) wrapped in its region. */
const scrollingTables = (html: string) =>
  html
    .replace(
      /<table[\s>]/g,
      (tag) => `<div class="table-scroll" tabindex="0" role="region" aria-label="Table">${tag}`,
    )
    .replace(/<\/table>/g, '</table></div>')
