import type Database from 'better-sqlite3'
import { documentOf, type DocumentRow as Row, rowOf, whereClauses } from '../json-documents.js'

/**
 * A table whose rows are JSON documents plus a few real columns for lookups. `columns` maps each column to
 * the document field it mirrors (kept in sync on every write).
 */

/** More distinct statements than this means callers build SQL with values in it: start over rather than grow. */
const maxPrepared = 200

export class JsonTable<T extends { id: string }> {
  private readonly insertStmt
  private readonly getStmt
  /** Statements of `where` and `select`, by their SQL: preparing one costs more than running it. */
  private readonly prepared = new Map<string, Database.Statement>()
  /** `update` in a transaction of its own, made once (better-sqlite3 builds four wrappers per `transaction()`). */
  private readonly updateTx: (id: string, patch: Partial<T>) => T | undefined

  constructor(
    private readonly db: Database.Database,
    private readonly table: string,
    private readonly columns: Record<string, keyof T>,
    /** The table's rows own events: `lastSeq` is read as their MAX(seq) (the old `last_seq` column is unused). */
    private readonly withSeq = false,
  ) {
    const names = ['id', ...Object.keys(columns), 'body']
    this.insertStmt = db.prepare(
      `INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map((n) => `@${n}`).join(', ')})`,
    )
    this.getStmt = db.prepare(`SELECT ${this.readColumns} FROM ${table} WHERE id = ?`)
    this.updateTx = db.transaction((id: string, patch: Partial<T>) => this.merge(id, patch))
  }

  insert(doc: T): void {
    this.insertStmt.run(this.row(doc))
  }

  /**
   * Merges `patch` into the stored document; returns the result, or undefined when there is no such row. Inside
   * a caller's transaction it is part of that one (a failure rolls all of it back).
   */
  update(id: string, patch: Partial<T>): T | undefined {
    return this.db.inTransaction ? this.merge(id, patch) : this.updateTx(id, patch)
  }

  private merge(id: string, patch: Partial<T>): T | undefined {
    const current = this.get(id)
    if (!current) return undefined
    const next = { ...current, ...patch, id }
    const row = this.row(next)
    // Only the columns whose value changes are written: SQLite rewrites an index on every column a SET names,
    // even to the same value (a turn's updates rewrote turns_session, a page in the WAL each time, for nothing).
    const changed = Object.entries(this.columns)
      .filter(([column, field]) => row[column] !== (current[field] ?? null))
      .map(([column]) => column)
    const sets = [...changed, 'body'].map((n) => `${n} = @${n}`).join(', ')
    this.statement(`UPDATE ${this.table} SET ${sets} WHERE id = @id`).run(row)
    return next
  }

  get(id: string): T | undefined {
    const r = this.getStmt.get(id) as Row | undefined
    return r ? this.parse(r) : undefined
  }

  /** Rows matching every given column value (null: the column IS NULL), ordered by id (descending unless `ascending`). */
  where(
    filter: Record<string, unknown>,
    opts: { limit?: number; before?: string; ascending?: boolean } = {},
  ): T[] {
    const { where, params } = whereClauses(filter, opts.before, () => '?')
    const sql = `SELECT ${this.readColumns} FROM ${this.table} ${where} ORDER BY id ${opts.ascending ? 'ASC' : 'DESC'} LIMIT ?`
    const rows = this.statement(sql).all(...params, opts.limit ?? -1) as Row[]
    return rows.map((r) => this.parse(r))
  }

  /** How many rows match `filter` (as in `where`), by the value of `column`. */
  countBy(column: string, filter: Record<string, unknown>): Map<unknown, number> {
    const { where, params } = whereClauses(filter, undefined, () => '?')
    const sql = `SELECT ${column} AS value, count(*) AS n FROM ${this.table} ${where} GROUP BY ${column}`
    const rows = this.statement(sql).all(...params) as { value: unknown; n: number }[]
    return new Map(rows.map((r) => [r.value, r.n]))
  }

  /** Rows selected by a raw SQL tail (`WHERE … ORDER BY …`) over this table. */
  select(tail: string, params: unknown[] = []): T[] {
    const rows = this.statement(`SELECT ${this.readColumns} FROM ${this.table} ${tail}`).all(
      ...params,
    ) as Row[]
    return rows.map((r) => this.parse(r))
  }

  /** A statement's single returned row (`RETURNING body[, last_seq]`) as a document. */
  parseRow(r: unknown): T | undefined {
    return r ? this.parse(r as Row) : undefined
  }

  /** The columns a document is read from (for `RETURNING`). */
  get readColumns(): string {
    return this.withSeq
      ? `body, (SELECT COALESCE(MAX(seq), 0) FROM events WHERE owner_id = ${this.table}.id) AS last_seq`
      : 'body'
  }

  /** A prepared statement for `sql`, kept for the next call (the SQL varies only with which filters are set). */
  private statement(sql: string): Database.Statement {
    let stmt = this.prepared.get(sql)
    if (!stmt) {
      if (this.prepared.size >= maxPrepared) this.prepared.clear()
      stmt = this.db.prepare(sql)
      this.prepared.set(sql, stmt)
    }
    return stmt
  }

  private parse(r: Row): T {
    return documentOf<T>(r)
  }

  private row(doc: T): Record<string, unknown> {
    return rowOf(doc, this.columns)
  }
}
