import { useEffect, useState } from 'preact/hooks'
import { agentProblem, agents, loadAgents } from '../agents.js'
import { call, client, errorText } from '../api.js'
import { AgentField, ChoiceField, type Sandbox, sandboxes, TextField } from '../components/fields.js'
import { SchemaField } from '../components/schema-field.js'
import { readSchema, schemaRefusal } from '../output-schema.js'
import { navigate } from '../router.js'
import { markStartedHere } from '../started-here.js'

/** Compose a run: seed 002's prompt box, model, sandbox and directory, plus agent and output schema. */
export function ComposeView() {
  const [agent, setAgent] = useState('')
  const [models, setModels] = useState<string[]>([])
  const [model, setModel] = useState('')
  const [sandbox, setSandbox] = useState<Sandbox>('read-only')
  const [cwd, setCwd] = useState('')
  const [skipGit, setSkipGit] = useState(true)
  const [schema, setSchema] = useState('')
  const [prompt, setPrompt] = useState('')
  const [busy, setBusy] = useState(false)
  const [problem, setProblem] = useState<string | null>(null)
  const [schemaProblem, setSchemaProblem] = useState<string | null>(null)

  useEffect(() => {
    loadAgents().catch((err) => setProblem(errorText(err)))
  }, [])
  const list = agents.value
  // The `cli` agent runs an allowlisted command ({cli, args}), not a prompt: the form has nothing to send it
  // (the API's `command`, or POST /run), so it is not offered here; history and the run view still show its runs.
  const withPrompt = list?.agents.filter((a) => a.id !== 'cli') ?? []
  const fallback = withPrompt.some((a) => a.id === list?.default) ? list?.default : withPrompt[0]?.id
  const chosen = agent || fallback || ''
  const info = withPrompt.find((a) => a.id === chosen)
  // an agent whose runs take no schema: the field says so and nothing of it is sent
  const noSchema =
    info && !info.capabilities.outputSchema ? `${info.id} takes no output schema for a run` : null
  useEffect(() => {
    if (!chosen) return
    call(client.api.GET('/v1/models', { params: { query: { agent: chosen } } }))
      .then((m) => setModels(m.models))
      .catch(() => setModels([]))
  }, [chosen])

  const submit = async (mode: 'stream' | 'wait') => {
    setProblem(null)
    setSchemaProblem(null)
    const { schema: outputSchema, error } = readSchema(noSchema ? '' : schema)
    if (error) return setSchemaProblem(error)
    setBusy(true)
    try {
      const body = {
        ...(chosen ? { agent: chosen } : {}),
        prompt,
        sandbox,
        skipGitRepoCheck: skipGit,
        cancelOnDisconnect: false,
        ...(model && model !== 'auto' ? { model } : {}),
        ...(cwd ? { cwd } : {}),
        ...(outputSchema ? { outputSchema } : {}),
      }
      const run = await call(
        client.api.POST('/v1/runs', { params: { query: mode === 'wait' ? { wait: 'true' } : {} }, body }),
      )
      // The answer is JSON here (no Accept: text/event-stream), so it is the run.
      if ('id' in run) {
        markStartedHere(run.id)
        navigate('runs', run.id)
      }
    } catch (err) {
      const refusal = schemaRefusal(err)
      if (refusal) setSchemaProblem(refusal)
      else setProblem(errorText(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <section aria-labelledby="compose-title" data-loaded={list ? true : undefined}>
      <h1 id="compose-title">New run</h1>
      <form
        class="compose"
        onSubmit={(e) => {
          e.preventDefault()
          void submit('stream')
        }}
      >
        <label for="prompt">Prompt</label>
        <textarea
          id="prompt"
          rows={5}
          required
          value={prompt}
          placeholder="What should the agent do? (Ctrl+Enter streams it)"
          onInput={(e) => setPrompt(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
              e.preventDefault()
              void submit('stream')
            }
          }}
        />
        <div class="grid">
          <AgentField
            id="agent"
            value={chosen}
            agents={withPrompt}
            disabled={(a) => !a.installed}
            onChange={setAgent}
          />
          <TextField
            id="model"
            label="Model"
            value={model}
            placeholder={models[0] ?? 'default'}
            suggestions={models}
            onInput={setModel}
          />
          <ChoiceField
            id="sandbox"
            label="Sandbox"
            value={sandbox}
            choices={sandboxes}
            onChange={setSandbox}
          />
          <TextField
            id="cwd"
            label="Working directory"
            value={cwd}
            placeholder="inside the workspace (default: its root)"
            onInput={setCwd}
          />
        </div>
        {info && (
          <p class="hint" data-testid="agent-hint">
            {agentProblem(info) ? (
              <span class="error-text">{agentProblem(info)}</span>
            ) : (
              <>
                {info.id} {info.version ?? ''} ·{' '}
                {Object.entries(info.capabilities)
                  .filter(([, on]) => on)
                  .map(([k]) => k)
                  .join(', ') || 'runs only'}
              </>
            )}
          </p>
        )}
        <label class="inline">
          <input type="checkbox" checked={skipGit} onChange={(e) => setSkipGit(e.currentTarget.checked)} />{' '}
          Skip the git repository check
        </label>
        <SchemaField
          id="schema"
          scope="the run's"
          value={schema}
          error={schemaProblem}
          unavailable={noSchema}
          onInput={(text) => {
            setSchema(text)
            setSchemaProblem(null)
          }}
        />
        {problem && (
          <p class="error-text" role="alert">
            {problem}
          </p>
        )}
        <div class="actions">
          <button type="submit" disabled={busy || !prompt.trim()}>
            Stream
          </button>
          <button
            type="button"
            class="secondary"
            disabled={busy || !prompt.trim()}
            onClick={() => submit('wait')}
          >
            {busy ? 'Running…' : 'Run and wait'}
          </button>
        </div>
      </form>
    </section>
  )
}
