import type { ComponentChildren } from 'preact'
import { type AgentInfo, agentProblem } from '../agents.js'

/** The sandbox modes a run or session may ask for (src/protocol/policies.ts). */
export const sandboxes = ['read-only', 'workspace-write', 'danger-full-access'] as const
export type Sandbox = (typeof sandboxes)[number]

/** A labelled select over fixed choices. */
export function ChoiceField<T extends string>(props: {
  id: string
  label: string
  value: T
  choices: readonly T[]
  onChange: (value: T) => void
}) {
  return (
    <div>
      <label for={props.id}>{props.label}</label>
      <select id={props.id} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value as T)}>
        {props.choices.map((c) => (
          <option key={c} value={c}>
            {c}
          </option>
        ))}
      </select>
    </div>
  )
}

/** A labelled text input; `suggestions` become a datalist (free text stays allowed). */
export function TextField(props: {
  id: string
  label: string
  value: string
  placeholder: string
  onInput: (value: string) => void
  suggestions?: readonly string[]
}) {
  const listId = props.suggestions ? `${props.id}-suggestions` : undefined
  return (
    <div>
      <label for={props.id}>{props.label}</label>
      <input
        id={props.id}
        list={listId}
        value={props.value}
        placeholder={props.placeholder}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
      {props.suggestions && (
        <datalist id={listId}>
          {props.suggestions.map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
      )}
    </div>
  )
}

/** The agent picker: one option per agent, marked when it cannot run; `children` come first (e.g. "default"). */
export function AgentField(props: {
  id: string
  value: string
  agents: readonly AgentInfo[]
  disabled: (agent: AgentInfo) => boolean
  onChange: (value: string) => void
  children?: ComponentChildren
}) {
  return (
    <div>
      <label for={props.id}>Agent</label>
      <select id={props.id} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        {props.children}
        {props.agents.map((a) => (
          <option key={a.id} value={a.id} disabled={props.disabled(a)}>
            {a.id}
            {agentProblem(a) ? ' (unavailable)' : ''}
          </option>
        ))}
      </select>
    </div>
  )
}
