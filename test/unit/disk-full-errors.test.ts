import { describe, expect, it } from 'vitest'
import { describeStartupError } from '../../src/cli/startup-error.js'
import { toAppError } from '../../src/http/errors.js'

const sqliteFull = () => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })
const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })

/**
 * A store whose disk is full (SQLite's SQLITE_FULL, a file's ENOSPC) is a node that cannot take work now, said so:
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

  it('at the start: one line naming DATA_DIR, exit 1', () => {
    expect(describeStartupError(sqliteFull())).toEqual({
      message: expect.stringMatching(/^the disk that holds the store is full .*free space in DATA_DIR/),
      exitCode: 1,
    })
  })
})
