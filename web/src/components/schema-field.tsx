import { useState } from 'preact/hooks'

/**
 * The collapsible "Structured output (JSON Schema)" field of the run and turn forms: a textarea for the schema the
 * agent's final answer must follow, its error (the console's or the gateway's) shown under it and tied to it
 * (`aria-invalid`, `aria-describedby`). Open while it holds a schema or an error, so what is sent is seen.
 */
export function SchemaField(props: {
  id: string
  value: string
  error: string | null
  /** Why it cannot be used with the agent chosen (the textarea is disabled, nothing is sent), if it cannot. */
  unavailable?: string | null
  /** What it applies to: "the run's" or "this turn's". */
  scope: string
  onInput: (value: string) => void
}) {
  const [opened, setOpened] = useState(false)
  const errorId = `${props.id}-error`
  const noteId = `${props.id}-note`
  const open = opened || props.value.trim() !== '' || props.error !== null
  const described = [props.error ? errorId : null, props.unavailable ? noteId : null].filter(Boolean)
  return (
    <details
      class="schema-field"
      open={open}
      onToggle={(e) => setOpened((e.currentTarget as HTMLDetailsElement).open)}
    >
      <summary>Structured output (JSON Schema)</summary>
      <label for={props.id}>JSON Schema {props.scope} final answer must follow (optional)</label>
      <textarea
        id={props.id}
        rows={4}
        spellcheck={false}
        value={props.value}
        disabled={Boolean(props.unavailable)}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={described.length ? described.join(' ') : undefined}
        placeholder='{"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}'
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
      {props.unavailable && (
        <p id={noteId} class="hint">
          {props.unavailable}
        </p>
      )}
      {props.error && (
        <p id={errorId} class="error-text field-error" data-testid="schema-error" role="alert">
          {props.error}
        </p>
      )}
    </details>
  )
}

/** An answer given as JSON (a run's `result`, a structured turn's final message), indented to be read. */
export function StructuredAnswer({ value, label = 'Structured answer' }: { value: unknown; label?: string }) {
  return (
    <figure class="structured-answer">
      <figcaption>{label}</figcaption>
      <pre data-testid="structured-answer">{JSON.stringify(value, null, 2)}</pre>
    </figure>
  )
}
