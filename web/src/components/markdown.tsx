import DOMPurify from 'dompurify'
import { marked } from 'marked'
import { useMemo } from 'preact/hooks'

/** Agent text as Markdown, sanitized (DOMPurify) before it reaches the page. */
export function Markdown({ text }: { text: string }) {
  const html = useMemo(() => DOMPurify.sanitize(marked.parse(text, { async: false, gfm: true })), [text])
  return <div class="markdown" dangerouslySetInnerHTML={{ __html: html }} />
}
