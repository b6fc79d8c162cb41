import os from 'node:os'

/** The lines every benchmark prints first: when, on which machine, under which load (results are compared). */
export function printMachine(): void {
  const load = loadNow()
  console.log(`date:    ${new Date().toISOString()}`)
  console.log(
    `cpu:     ${os.cpus()[0]?.model ?? '?'} (${os.cpus().length} cores), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
  )
  console.log(`node:    ${process.version}; load ${load}`)
}

/** The 1, 5 and 15 minute load averages, as printed. */
export function loadNow(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')
}

/** `load:    1.00 0.80 0.50 (1/5/15 min, <when>)` */
export const loadLine = (when: string) => `load:    ${loadNow()} (1/5/15 min, ${when})`

/** The machine as the longer benches print it, a line each: when, CPU, memory, OS, Node, then `extra`. */
export function machineLines(...extra: string[]): string[] {
  const cpus = os.cpus()
  return [
    `date:    ${new Date().toISOString()}`,
    `cpu:     ${cpus[0]?.model ?? 'unknown'} (${cpus.length} cores)`,
    `memory:  ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    `os:      ${os.type()} ${os.release()} ${os.arch()}`,
    `node:    ${process.version}`,
    ...extra,
  ]
}
