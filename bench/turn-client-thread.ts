/**
 * The source of a bench's HTTP client thread (`new Worker(source, { eval: true })`): one warm turn through the
 * gateway per message ({url, sessionId}), answered {ok} or {error}, checked against `answer`. Its first message
 * is its thread id (for its CPU time in /proc).
 */
export function turnClientThread(answer: string): string {
  return `
const { parentPort } = require('node:worker_threads')
const { readlinkSync } = require('node:fs')
parentPort.postMessage({ tid: Number(readlinkSync('/proc/thread-self').split('/').pop()) })
parentPort.on('message', async ({ url, sessionId }) => {
  try {
    const res = await fetch(url + '/v1/sessions/' + sessionId + '/turns?wait=true', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'Say ok.' }),
    })
    const turn = await res.json()
    const ok = res.status === 200 && turn.status === 'completed' && turn.finalResponse === ${JSON.stringify(answer)}
    parentPort.postMessage(ok ? { ok } : { error: 'HTTP ' + res.status + ': ' + JSON.stringify(turn) })
  } catch (err) {
    parentPort.postMessage({ error: String(err) })
  }
})
`
}
