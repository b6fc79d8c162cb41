import { useState } from 'preact/hooks'

/** How much of a long output shows until asked for all of it: about a phone's screen. */
export const tailLines = 40
const tailChars = 8000

/**
 * A command's output: whole when short; when long (thousands of lines), its last `tailLines` lines (what a running
 * command printed last, as a terminal shows it) and a button for all of it. Whole, a long output made the page
 * tens of thousands of pixels tall: on a phone the message box and later turns were a long scroll away.
 */
export function OutputTail({ text }: { text: string }) {
  const [all, setAll] = useState(false)
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n')
  const long = lines.length > tailLines || text.length > tailChars
  let shown = text
  if (long && !all) {
    shown = lines.slice(-tailLines).join('\n') + (text.endsWith('\n') ? '\n' : '')
    if (shown.length > tailChars) shown = `…${shown.slice(-tailChars)}`
  }
  return (
    <>
      {long && (
        <button type="button" class="link output-toggle" aria-expanded={all} onClick={() => setAll(!all)}>
          {all
            ? `Show the last ${tailLines} lines only`
            : `Show all ${lines.length.toLocaleString('en')} lines (the last ${Math.min(tailLines, lines.length)} shown)`}
        </button>
      )}
      <pre class="output">{shown}</pre>
    </>
  )
}
