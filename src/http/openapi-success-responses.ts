import type { OperationDoc } from './openapi-operations.js'

// biome-ignore lint/suspicious/noExplicitAny: a JSON document walked by key
type Json = Record<string, any>

const streamMedia = { sse: 'text/event-stream', ndjson: 'application/x-ndjson' }

/**
 * An operation's success answer: its stream described (stored events as SSE or NDJSON, codex's SSE, the cli's
 * NDJSON, the approvals inbox, text), or its JSON answer named and given its example.
 */
export function completeSuccess(
  op: Json,
  d: OperationDoc,
  name: (m: Json | undefined, as?: string) => void,
  schemas: Json,
): void {
  op.responses ??= {}
  const eventStream = (description: string) => ({
    description,
    content: {
      [streamMedia.sse]: {
        schema: { $ref: '#/components/schemas/StoredEvent' },
        example: `id: ${(d.responseExample as Json).seq}\nevent: ${(d.responseExample as Json).type}\ndata: ${JSON.stringify(d.responseExample)}\n\n`,
      },
      [streamMedia.ndjson]: {
        schema: { $ref: '#/components/schemas/StoredEvent' },
        example: d.responseExample,
      },
    },
  })
  switch (d.stream) {
    case 'events':
      op.responses[200] = eventStream(
        'Server-Sent Events (default): `id:` = seq, `event:` = type, `data:` = the StoredEvent as JSON, `: keep-alive` comments every `X-Keepalive-Seconds` (the response header; 0: none); or NDJSON (Accept: application/x-ndjson), one StoredEvent per line. Replays from Last-Event-ID or ?after=, then follows live.',
      )
      return
    case 'codex-sse':
      op.responses[200] = {
        description:
          "Server-Sent Events: one `data:` line per codex JSONL event, verbatim, until codex exits; `{type: 'error', message}` when it was ended early.",
        content: {
          [streamMedia.sse]: {
            schema: { $ref: '#/components/schemas/CodexEvent' },
            example: `data: ${JSON.stringify(d.responseExample)}\n\n`,
          },
        },
      }
      return
    case 'cli-ndjson':
      op.responses[200] = {
        description:
          'NDJSON: `{type: stdout|stderr, data}` frames as the CLI writes, then `{type: exit, code}` (124 after RUN_RESPONSE_TIMEOUT_SECONDS).',
        content: {
          [streamMedia.ndjson]: {
            schema: { $ref: '#/components/schemas/CliFrame' },
            example: d.responseExample,
          },
        },
      }
      return
    case 'approvals-sse':
      op.responses[200] = {
        description:
          'Server-Sent Events: `event: approvals`, `data:` = every pending approval ({approvals: [...]}), sent at once, whenever one is requested or answered, and at least every 10 s; `: keep-alive` comments every `X-Keepalive-Seconds` (the response header; 0: none).',
        content: {
          [streamMedia.sse]: {
            schema: { $ref: '#/components/schemas/ApprovalList' },
            example: `event: approvals\ndata: ${JSON.stringify(d.responseExample)}\n\n`,
          },
        },
      }
      return
    case 'text':
      op.responses[200] = {
        description: 'The text, as text/plain.',
        content: { 'text/plain': { schema: { type: 'string' }, example: d.responseExample } },
      }
      return
  }
  let found = false
  for (const status of ['200', '201', '202']) {
    const media = op.responses[status]?.content?.['application/json']
    if (!media) continue
    found = true
    name(media, d.response)
    media.example = d.responseExample
    op.responses[status].description = status === '202' ? 'Accepted' : status === '201' ? 'Created' : 'OK'
  }
  if (!found && d.response) {
    op.responses[200] = {
      description: 'OK',
      content: {
        'application/json': {
          schema: { $ref: `#/components/schemas/${d.response}` },
          example: d.responseExample,
        },
      },
    }
    schemas[d.response] ??= d.responseSchema ?? {
      type: 'object',
      additionalProperties: true,
      description: "app-server's own answer, passed through as it is.",
    }
  }
  // POST /v1/runs and POST /v1/sessions/{id}/turns also stream when asked with Accept.
  if (op.description?.includes('text/event-stream') && op.responses[200]) {
    const streamed = eventStream('')
    op.responses[200].content = { ...op.responses[200].content, ...streamed.content }
    op.responses[200].content[streamMedia.sse].example =
      'id: 1\nevent: run.queued\ndata: {"type":"run.queued","seq":1,"at":"2026-12-01T12:00:00.000Z","runId":"run_01JD4Z8Q6N7W3V2K5M9P0R1S2T"}\n\n'
    op.responses[200].content[streamMedia.ndjson].example = {
      type: 'run.queued',
      seq: 1,
      at: '2026-12-01T12:00:00.000Z',
      runId: 'run_01JD4Z8Q6N7W3V2K5M9P0R1S2T',
    }
  }
}
