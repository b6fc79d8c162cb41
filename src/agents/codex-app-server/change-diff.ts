/**
 * A file change as a unified diff. codex reports an update as a unified diff already, but an added or deleted
 * file as its whole content: those lines become additions or deletions.
 */
export function changeDiff(kind: string, text: string | undefined): string | undefined {
  if (!text) return undefined
  if (kind !== 'add' && kind !== 'delete') return text
  const sign = kind === 'add' ? '+' : '-'
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n')
  return lines.map((line) => `${sign}${line}`).join('\n')
}
