import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ContainerProcessRunner } from '../../src/process/container/container-runner.js'
import { processesUnder, waitUntilGone } from '../support/processes.js'
import { removeDir, tempDir } from '../support/temp.js'

/**
 * A timeout or a cancel that comes once the container's program exited on its own, while its last output is
 * still read (the output drain, spawn-group.ts), must not rewrite how it ended: the runner recorded its own
 * reason (`cancelled`), stopped and removed a container that was gone, and the outcome said `cancelled` for a
 * program that had exited 3. The engine is a stand-in here (a script named `podman`): with podman the client's
 * output closes as soon as the container ends, so that window cannot be held open on purpose. The stand-in's
 * `run` leaves a process of another session holding its output (as a daemon would) and exits 3; every engine
 * call is recorded. Real processes, the real spawnGroup.
 */
describe('the container runner, terminated after its program exited', () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) removeDir(d)
  })

  it('keeps the outcome the program gave (exited, its code), stops and removes nothing', async () => {
    const dir = tempDir('fake-engine-')
    dirs.push(dir)
    const engine = path.join(dir, 'podman')
    const calls = path.join(dir, 'calls')
    writeFileSync(
      engine,
      [
        '#!/bin/sh',
        `echo "$1" >> '${calls}'`,
        `cd '${dir}'`,
        // the output stays open after `run` exited: held by a process out of its group (ended by its marker);
        // one in its group (holding no output) is ended once the runner heard the exit: the test waits for that
        // (the holder says through a fifo that it left the group, so the exit comes after that)
        'if [ "$1" = run ]; then',
        '  mkfifo holding; setsid sh -c "echo > holding; exec sleep 30" & read _ < holding',
        '  sleep 29 >/dev/null 2>&1 & echo program-ended; exit 3',
        'fi',
        'exit 0',
      ].join('\n'),
      { mode: 0o755 },
    )
    const runner = new ContainerProcessRunner({
      engine,
      image: 'stand-in',
      network: 'none',
      pidsLimit: 64,
      user: '1000:1000',
      tmpfsSize: '64m',
      instance: 'exit-outcome',
      engineEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    })
    const cancel = new AbortController()
    const proc = runner.start({
      command: 'agent',
      args: [],
      cwd: dir,
      env: {},
      killGraceMs: 1000,
      signal: cancel.signal,
    })
    const pid = await proc.started
    let stdout = ''
    await new Promise<void>((resolve) =>
      proc.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString()
        if (stdout.includes('program-ended\n')) resolve()
      }),
    )
    // the client exited on its own, and the runner heard it (it ended what the client left in its group); its
    // output is still held open
    // (its group: the client and its `sleep 29`, exec'd or not yet)
    const exitHeard = () => processesUnder(dir).filter((p) => p.pgid === pid)
    expect(await waitUntilGone(exitHeard)).toEqual([])
    expect(processesUnder(dir)).toHaveLength(1)
    cancel.abort()

    expect(await proc.done).toMatchObject({ exitCode: 3, reason: 'exited' })
    // nothing to stop (the container ended with its program), and `--rm` removed it
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual(['run'])
    // what held the output is ended with the drain
    expect(await waitUntilGone(() => processesUnder(dir))).toEqual([])
  })
})
