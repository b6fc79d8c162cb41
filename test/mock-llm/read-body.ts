import type { IncomingMessage } from 'node:http'

/** Read the whole request body; JSON is parsed, anything else is kept as text (`json: false`). */
export async function readBody(req: IncomingMessage): Promise<{ body: unknown; json: boolean }> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  if (text === '') return { body: undefined, json: false }
  try {
    return { body: JSON.parse(text) as unknown, json: true }
  } catch {
    return { body: text, json: false }
  }
}
