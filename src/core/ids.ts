import { randomBytes } from 'node:crypto'

/** Time-sortable ids (`run_…`, `ses_…`, `turn_…`, `apr_…`): creation order is id order, which cursors rely on. */
export function newId(prefix: string): string {
  return `${prefix}_${Date.now().toString(36).padStart(10, '0')}${randomBytes(5).toString('hex')}`
}
