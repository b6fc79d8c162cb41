import type { CliCommand } from '../command.js'

/** `agent-gateway stream [sessionId] [prompt]`: seed 004's demo client on one HTTP/2 /agent/stream. */
export const streamCommand: CliCommand = {
  name: 'stream',
  summary: 'talk to an agent over HTTP/2 /agent/stream (seed 004 demo client)',
  usage: [
    'usage: agent-gateway stream [sessionId] [prompt]',
    '',
    'Opens POST /agent/stream on the gateway (CODEX_API_URL or AGENT_GATEWAY_URL, default',
    "http://127.0.0.1:$PORT, 8000 without PORT) and prints the agent's output. On a command prompt it asks",
    '"Approve? (yes/no)". Type /cancel to stop the running message, /quit or /exit to leave. The end of the',
    'input (Ctrl-D, a pipe) leaves once every message has its answer. The token comes from',
    'AGENT_GATEWAY_TOKEN (else the first API_TOKENS entry).',
  ].join('\n'),
  async run(args) {
    if (args[0] === '--help' || args[0] === '-h') {
      console.log(streamCommand.usage)
      return 0
    }
    const client = await import('../../http/compat/agent-stream-demo-client.js')
    const opts = client.streamClientOptions(args, process.env)
    return client.runStreamClient({ ...opts, input: process.stdin, output: process.stdout })
  },
}
