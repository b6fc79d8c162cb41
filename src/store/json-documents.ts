import type { Run } from '../protocol/runs.js'
import type { Approval, Session, Turn } from '../protocol/sessions.js'
import type { WebhookDelivery } from '../protocol/webhooks.js'

/**
 * What both stores keep the same way: a document table's row is the JSON document (`body`) plus a few real
 * columns for lookups, each mirroring a document field (`columns`: column -> field, kept in sync on every
 * write), and `last_seq` where events are appended.
 */
export interface DocumentRow {
  body: string
  last_seq?: number
}

export type Columns<T> = Record<string, keyof T>

export const runColumns: Columns<Run> = {
  agent: 'agent',
  status: 'status',
  created_at: 'createdAt',
  finished_at: 'finishedAt',
  tenant: 'tenant',
}
export const sessionColumns: Columns<Session> = {
  agent: 'agent',
  agent_session_id: 'agentSessionId',
  status: 'status',
  external_id: 'externalId',
  tenant: 'tenant',
}
export const turnColumns: Columns<Turn> = { session_id: 'sessionId', status: 'status' }
export const approvalColumns: Columns<Approval> = { session_id: 'sessionId', state: 'state' }
export const webhookColumns: Columns<WebhookDelivery> = { state: 'state', next_attempt_at: 'nextAttemptAt' }

/**
 * What a node still holds of each table it owns rows of (`node_id`): unfinished runs and sessions not archived.
 * Those of a lost node are taken over; the owners of some are the owners in use.
 */
export const heldWhere = {
  runs: "status IN ('queued', 'running')",
  sessions: "status != 'archived'",
} as const

/**
 * A finished run whose stored events end without its `run.completed`: a node of an earlier version wrote its record
 * before the event (recordRunEnd stores both in one transaction now) and died between the two writes. Probes the run's last event (the
 * events' primary key), for the finished runs of given nodes only (runs_node).
 */
export const endMissingWhere = `status NOT IN ('queued', 'running') AND COALESCE((SELECT type FROM events
  WHERE owner_id = runs.id ORDER BY seq DESC LIMIT 1), '') != 'run.completed'`

/** The owners in use: nodes that hold a run or session. */
export const ownersInUseSql = `SELECT node_id FROM runs WHERE ${heldWhere.runs} AND node_id IS NOT NULL
  UNION SELECT node_id FROM sessions WHERE ${heldWhere.sessions} AND node_id IS NOT NULL`

/** Every document table's columns, by table. */
export const documentColumns = {
  runs: runColumns,
  sessions: sessionColumns,
  turns: turnColumns,
  approvals: approvalColumns,
  webhook_outbox: webhookColumns,
}

/** The document a row holds, with `lastSeq` from the `last_seq` column where the table has one. */
export function documentOf<T>(row: DocumentRow): T {
  const doc = JSON.parse(row.body) as T
  return row.last_seq === undefined ? doc : { ...doc, lastSeq: row.last_seq }
}

/** The row values of a document: its id, its body and the columns that mirror its fields. */
export function rowOf<T extends { id: string }>(doc: T, columns: Columns<T>): Record<string, unknown> {
  const row: Record<string, unknown> = { id: doc.id, body: JSON.stringify(doc) }
  for (const [column, field] of Object.entries(columns)) row[column] = doc[field] ?? null
  return row
}

/**
 * The WHERE clauses of a document lookup: each given column equals its value (null: IS NULL), and `before`
 * bounds the id. `placeholder(n)` writes the n-th parameter (`?` for SQLite, `$n` for PostgreSQL).
 */
export function whereClauses(
  filter: Record<string, unknown>,
  before: string | undefined,
  placeholder: (n: number) => string,
): { where: string; params: unknown[] } {
  const clauses: string[] = []
  const params: unknown[] = []
  const bind = (sql: string, value: unknown) => {
    params.push(value)
    clauses.push(`${sql} ${placeholder(params.length)}`)
  }
  for (const [column, value] of Object.entries(filter)) {
    if (value === undefined) continue
    if (value === null) clauses.push(`${column} IS NULL`)
    else bind(`${column} =`, value)
  }
  if (before) bind('id <', before)
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params }
}
