import type pg from 'pg'
import { type DocumentRow, documentOf, rowOf, whereClauses } from '../json-documents.js'

/** Something that runs a query: the pool, or one client inside a transaction. */
export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>

/**
 * The PostgreSQL twin of the SQLite JsonTable: rows are JSON documents plus a few real columns for lookups.
 * Bodies are JSON text, not JSONB: JSONB refuses strings JSON allows (NUL, lone surrogates).
 * `columns` maps each column to the document field it mirrors (kept in sync on every write).
 */
export class PgJsonTable<T extends { id: string }> {
  constructor(
    private readonly table: string,
    private readonly columns: Record<string, keyof T>,
    /** The table has a `last_seq` column owned by event appends; it is read into `lastSeq`, never written here. */
    private readonly withSeq = false,
  ) {}

  /** The columns a document is read from (for `RETURNING`). */
  get readColumns(): string {
    return this.withSeq ? 'body, last_seq' : 'body'
  }

  async insert(db: Queryable, doc: T, extra: Record<string, unknown> = {}): Promise<void> {
    const values = this.values(doc)
    const names = [...Object.keys(values), ...Object.keys(extra)]
    const params = [...Object.values(values), ...Object.values(extra)]
    await db.query(
      `INSERT INTO ${this.table} (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})`,
      params,
    )
  }

  /**
   * insert, only when `condition` holds (SQL evaluated once, its parameters `conditionValues` numbered from the
   * `first` it is given); whether the row was inserted. The row's values are untyped parameters of a SELECT: for
   * tables whose written columns are TEXT (runs).
   */
  async insertWhere(
    db: Queryable,
    doc: T,
    extra: Record<string, unknown>,
    condition: (first: number) => string,
    conditionValues: unknown[],
  ): Promise<boolean> {
    const values = this.values(doc)
    const names = [...Object.keys(values), ...Object.keys(extra)]
    const params = [...Object.values(values), ...Object.values(extra)]
    const { rowCount } = await db.query(
      `INSERT INTO ${this.table} (${names.join(', ')}) SELECT ${names.map((_, i) => `$${i + 1}`).join(', ')}
       WHERE ${condition(params.length + 1)}`,
      [...params, ...conditionValues],
    )
    return rowCount === 1
  }

  /**
   * Merges `patch` into the stored document under a row lock; the result, or undefined when there is no row.
   * `patch` may be made from the locked document (null: nothing written).
   */
  async update(
    db: Queryable,
    id: string,
    patch: Partial<T> | ((current: T) => Partial<T> | null),
  ): Promise<T | undefined> {
    const current = this.parseRow(
      (await db.query(`${this.selectSql} WHERE id = $1 FOR UPDATE`, [id])).rows[0],
    )
    if (!current) return undefined
    const change = typeof patch === 'function' ? patch(current) : patch
    if (!change) return current
    const next = { ...current, ...change, id } as T
    const values = this.values(next)
    const names = Object.keys(values).filter((n) => n !== 'id')
    await db.query(
      `UPDATE ${this.table} SET ${names.map((n, i) => `${n} = $${i + 2}`).join(', ')} WHERE id = $1`,
      [id, ...names.map((n) => values[n])],
    )
    return next
  }

  async get(db: Queryable, id: string): Promise<T | undefined> {
    return this.parseRow((await db.query(`${this.selectSql} WHERE id = $1`, [id])).rows[0])
  }

  /** Rows matching every given column value (null: the column IS NULL), ordered by id (descending unless `ascending`). */
  async where(
    db: Queryable,
    filter: Record<string, unknown>,
    opts: { limit?: number; before?: string; ascending?: boolean } = {},
  ): Promise<T[]> {
    const { where, params } = whereClauses(filter, opts.before, (n) => `$${n}`)
    let sql = `${this.selectSql} ${where} ORDER BY id ${opts.ascending ? 'ASC' : 'DESC'}`
    if (opts.limit !== undefined) {
      params.push(opts.limit)
      sql += ` LIMIT $${params.length}`
    }
    return this.select(db, sql, params)
  }

  /** Rows of a full SQL statement that returns this table's read columns. */
  async select(db: Queryable, sql: string, params: unknown[] = []): Promise<T[]> {
    return (await db.query(sql, params)).rows.map((r) => this.parseRow(r)!)
  }

  /** `SELECT <read columns> FROM <table>`, to which a caller appends its clauses. */
  get selectSql(): string {
    return `SELECT ${this.readColumns} FROM ${this.table}`
  }

  parseRow(r: unknown): T | undefined {
    return r ? documentOf<T>(r as DocumentRow) : undefined
  }

  private values(doc: T): Record<string, unknown> {
    return rowOf(doc, this.columns)
  }
}
