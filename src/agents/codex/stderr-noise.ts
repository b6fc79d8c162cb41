/**
 * codex warns on every start when it cannot put its helper binaries on PATH (e.g. CODEX_HOME under /tmp).
 * It is about codex's own setup, not the task, so it stays out of run output and error messages. stderr
 * arrives in chunks: the warning may be split after "aliases: " (each half starts like a warning), and its
 * newline may come in the next chunk, which is dropped up to that newline (it was sent on its own as a stray
 * "\n" stderr frame on POST /run).
 */
const helperBinaryWarning =
  /^(?:WARNING: proceeding, even though we could not create PATH aliases:|Refusing to create helper binaries under).*(?:\r?\n|$)/gm

const warningStart =
  /^(?:WARNING: proceeding, even though we could not create PATH aliases:|Refusing to create helper binaries under)/

/** A filter of one process's stderr chunks, in order: its text without codex's helper-binary warnings. */
export function codexStartupNoiseFilter(): (chunk: string) => string {
  // the last chunk ended inside a warning line: what comes before the next newline is its rest
  let insideWarning = false
  return (chunk) => {
    let text = chunk
    if (insideWarning) {
      const newline = text.indexOf('\n')
      if (newline === -1) return ''
      text = text.slice(newline + 1)
      insideWarning = false
    }
    insideWarning = warningStart.test(text.slice(text.lastIndexOf('\n') + 1))
    return text.replace(helperBinaryWarning, '')
  }
}
