import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import os from 'node:os'
import { afterEach, describe, expect, it } from 'vitest'
import { LocalProcessRunner } from '../../src/process/local-runner.js'
import { procStat } from '../../src/process/proc-stat.js'
import { markerVariable } from '../../src/process/process-marker.js'
import { runnerContract } from '../contract/runner-contract.js'
import { processesUnder } from '../support/processes.js'

runnerContract('local process groups', {
  create: () => new LocalProcessRunner(),
  env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  leftovers: async (cwd) => processesUnder(cwd).map((p) => `${p.pid} ${p.cmd}`),
  escaped: 'when asked',
  // each case's cwd is its own (its leftovers are what runs there) and its escaped sleeps carry numbers of their
  // own: the timeout case's 3 s are waited out beside the others
  concurrent: true,
})

describe('the local runner’s leftover sweep', () => {
  const started: ChildProcess[] = []
  afterEach(() => {
    for (const child of started.splice(0))
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })

  // the sweep reads only what started since the program did: what carries its marker descends from it
  it('looks only at processes started since its program: an older one with its marker is left alone', async () => {
    const runner = new LocalProcessRunner()
    // the program and the older process may start within one clock tick (then the older one counts as new): a
    // few tries, until the program started a tick later
    for (let attempt = 0; attempt < 20; attempt++) {
      const marker = randomUUID()
      const older = spawn('sleep', ['300'], {
        detached: true,
        stdio: 'ignore',
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', [markerVariable]: marker },
      })
      started.push(older)
      // spawn() returns once it forked: its stat is there
      const olderStart = procStat(older.pid!)!.startTime
      const proc = runner.start({
        command: 'true',
        args: [],
        cwd: os.tmpdir(),
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        killGraceMs: 1000,
        sweepLeftovers: true,
        marker,
      })
      const programStart = await proc.started.then((pid) =>
        pid === undefined ? undefined : procStat(pid)?.startTime,
      )
      expect((await proc.done).exitCode).toBe(0)
      if (programStart === undefined || programStart === olderStart) continue
      expect(programStart).toBeGreaterThan(olderStart)
      expect(
        older.exitCode === null && older.signalCode === null && procStat(older.pid!)?.state !== 'Z',
      ).toBe(true)
      return
    }
    throw new Error('the program never started a clock tick after the older process')
  })
})
