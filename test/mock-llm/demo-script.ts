import type { MockLlm, StepContext } from './types.js'

const greetings = [
  'Hello there! The mock model is up and happy to help.',
  'Hi! Nice to meet you — this answer came from the offline mock model.',
  'Hey! Greetings from 127.0.0.1, no API key required.',
  'Good to see you! Ask me to run a command, or say something slow.',
]

export const demoCommand = 'echo hello from the mock model'

/** The command output codex sends back, without its "Chunk ID / Wall time" preamble. */
function commandOutput(raw: string | undefined): string {
  if (!raw) return '(no output captured)'
  const marker = raw.indexOf('Output:\n')
  return (marker === -1 ? raw : raw.slice(marker + 'Output:\n'.length)).trim() || '(empty output)'
}

const slowText =
  'This is a deliberately slow answer. Each word arrives after a pause, so you can watch streaming, ' +
  'cancellation and timeouts at work.'

/**
 * Keyword rules that make the mock feel alive without an API key:
 * "greeting" -> a friendly greeting, "run"/"command" -> runs `echo` then summarises,
 * "slow" -> a slowly streamed answer, anything else -> "You said: <prompt>".
 */
export function installDemoScript(mock: Pick<MockLlm, 'on' | 'setDefault'>): void {
  mock.on(/greeting/i, () => ({
    kind: 'text',
    text: greetings[Math.floor(Math.random() * greetings.length)] ?? 'Hello!',
  }))
  mock.on(/\b(run|command)\b/i, { kind: 'exec_command', cmd: demoCommand }, (ctx: StepContext) => ({
    kind: 'text',
    deltas: true,
    text: `I ran \`${demoCommand}\`. It printed:\n\n${commandOutput(ctx.lastToolOutput)}`,
  }))
  mock.on(/slow/i, { kind: 'text', text: slowText, deltas: true, delayMs: 1500, chunkDelayMs: 250 })
  mock.setDefault((ctx: StepContext) => ({
    kind: 'text',
    text: `You said: ${ctx.lastUserText}`,
    deltas: true,
  }))
}
