import { readFileSync } from 'node:fs'

/**
 * Minor page faults of this process so far (/proc/self/stat, field 10): each is a page of memory touched for the
 * first time, or written for the first time since a fork made it copy-on-write.
 */
export function minorFaults(): number {
  return Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ')[7])
}
