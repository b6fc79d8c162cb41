/**
 * What the OpenAPI document says seed 004's server frames are (docs/agent-stream.md): their JSON Schema and an
 * example, for both of its transports (POST /agent/stream and /agent/ws).
 */
export const agentStreamFrames = {
  response: 'AgentStreamFrame',
  responseSchema: {
    description: 'One server frame of docs/agent-stream.md; `id` is a fresh UUID on every frame.',
    oneOf: [
      frameSchema('status', { message: { type: 'string' }, details: { type: 'object' } }, ['message']),
      frameSchema('item', { responseItem: { type: 'object' } }, ['responseItem']),
      frameSchema(
        'command_prompt',
        {
          commandId: { type: 'string' },
          command: { type: 'array', items: { type: 'string' } },
          applyPatch: { type: 'object', properties: { patch: { type: 'string' } } },
          explanation: { type: 'string' },
        },
        ['commandId', 'command'],
      ),
      frameSchema(
        'error',
        { message: { type: 'string' }, code: { type: 'string' }, retryable: { type: 'boolean' } },
        ['message'],
      ),
      frameSchema('heartbeat', { timestamp: { type: 'string', format: 'date-time' } }, ['timestamp']),
      frameSchema('terminate', { reason: { type: 'string' } }, ['reason']),
    ],
  },
  responseExample: {
    type: 'status',
    id: '5f0c2a9e-8d1b-4c3e-9a7f-2b6d4e8c1a30',
    message: 'Agent run completed.',
  },
  errors: [],
  errorShape: 'v1' as const,
}

function frameSchema(type: string, properties: Record<string, unknown>, required: string[]) {
  return {
    type: 'object',
    properties: { type: { const: type }, id: { type: 'string', format: 'uuid' }, ...properties },
    required: ['type', 'id', ...required],
  }
}
