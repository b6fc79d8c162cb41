import os from 'node:os'

/** The lines every benchmark prints first: when, on which machine, under which load (results are compared). */
export function printMachine(): void {
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')
  console.log(`date:    ${new Date().toISOString()}`)
  console.log(
    `cpu:     ${os.cpus()[0]?.model ?? '?'} (${os.cpus().length} cores), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
  )
  console.log(`node:    ${process.version}; load ${load}`)
}
