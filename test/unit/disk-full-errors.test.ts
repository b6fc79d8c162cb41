import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { describeStartupError } from '../../src/cli/startup-error.js'
import { toAppError } from '../../src/http/errors.js'

const sqliteFull = () => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })
const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
/** The pg driver's error for a PostgreSQL server that refused a write for its full disk (SQLSTATE 53100). */
const pgError = (code: string, message: string) =>
  Object.assign(new pg.DatabaseError(message, 0, 'error'), { code })
const pgFull = () => pgError('53100', 'could not extend file "base/16384/16402": No space left on device')

/**
 * A store whose disk is full (SQLite's SQLITE_FULL, a file's ENOSPC, PostgreSQL's 53100 disk_full) is a node that cannot take work now, said so:
 * a request answers 503 `storage_full` with Retry-After (before: 500 `internal error`, as for a bug), and a start
 * says what to free (before: the bare SqliteError's stack). test/integration/data-dir-full.test.ts fills a real disk.
 */
describe('a full disk', () => {
  it('a request whose write it refused: 503 storage_full, retry later', () => {
    for (const err of [sqliteFull(), enospc()]) {
      const app = toAppError(err)
      expect(app).toMatchObject({ code: 'storage_full', status: 503, details: { retryAfterSeconds: 30 } })
      expect(app.message).toMatch(/disk is full.*the request failed; retry once/)
    }
  })

  it("the PostgreSQL server's (53100 disk_full): 503 storage_full naming it; its other resource errors are not", () => {
    expect(toAppError(pgFull())).toMatchObject({
      code: 'storage_full',
      status: 503,
      details: { retryAfterSeconds: 30 },
      message: expect.stringMatching(
        /PostgreSQL server refused a write: disk_full.*the request failed; retry/,
      ),
    })
    // out of memory, too many connections, a configured limit (temp_file_limit): no full disk
    for (const code of ['53200', '53300', '53400'])
      expect(toAppError(pgError(code, 'out of resources'))).toMatchObject({ code: 'internal', status: 500 })
  })

  it('at the start: one line naming DATA_DIR, exit 1', () => {
    expect(describeStartupError(sqliteFull())).toEqual({
      message: expect.stringMatching(/^the disk that holds the store is full .*free space in DATA_DIR/),
      exitCode: 1,
    })
  })

  it("at the start, the PostgreSQL server's: one line naming its disk, exit 1", () => {
    expect(describeStartupError(pgFull())).toEqual({
      message: expect.stringMatching(
        /^the disk of the PostgreSQL server \(DATABASE_URL\) is full \(could not extend file .*\): free space on the database server/,
      ),
      exitCode: 1,
    })
  })
})
