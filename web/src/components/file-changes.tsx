/** One changed file as the protocol carries it; `diff` is a unified diff when the agent reported one. */
export interface FileChange {
  path: string
  kind: string
  diff?: string | undefined
}

/** Files an agent changed or asks to change: kind and path, then the diff with its lines coloured. */
export function FileChanges({ changes }: { changes: readonly FileChange[] }) {
  return (
    <div class="changes">
      {changes.map((c) => (
        <div key={c.path} class="change" data-testid="file-diff">
          <p class={`change-path diff-${c.kind}`}>
            {c.kind} <code>{c.path}</code>
          </p>
          {c.diff && (
            <pre class="diff">
              {c.diff.split('\n').map((line, i) => (
                <span key={i} class={lineClass(line)}>
                  {line}
                  {'\n'}
                </span>
              ))}
            </pre>
          )}
        </div>
      ))}
    </div>
  )
}

function lineClass(line: string): string {
  if (line.startsWith('+++') || line.startsWith('---')) return 'diff-file'
  if (line.startsWith('@@')) return 'diff-hunk'
  if (line.startsWith('+')) return 'diff-add'
  if (line.startsWith('-')) return 'diff-delete'
  return 'diff-context'
}
