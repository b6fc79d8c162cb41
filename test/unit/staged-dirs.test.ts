import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LocalProcessRunner } from '../../src/process/local-runner.js'
import { stagedPath } from '../../src/process/runner.js'
import { makeStagedDir, stagedDirs } from '../../src/process/staged-dirs.js'
import { sweepTempDirs } from '../../src/process/temp-dirs.js'
import { expectSwept, makeLookAlikes } from '../support/owned-dir-lookalikes.js'
import { processesInGroup, waitUntilGone } from '../support/processes.js'
import { moduleUrl, startScriptGateway } from '../support/script-gateway.js'
import { removeDir, tempDir } from '../support/temp.js'

let tmp: string
beforeEach(() => {
  tmp = tempDir('staged-dirs-')
})
afterEach(() => removeDir(tmp))

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' }

describe('staged directories (real processes)', () => {
  it('a launch stages its files in a directory whose owner file is beside it, and both go when it ended', async () => {
    const runner = new LocalProcessRunner()
    const proc = runner.start({
      command: 'sh',
      args: [
        '-c',
        'd=$(dirname "$1"); echo "$d"; test -f "$d.owner" && echo owned; ls -A "$d"; cat "$1"',
        'sh',
        stagedPath('input.json'),
      ],
      cwd: tmp,
      env,
      killGraceMs: 1000,
      files: [{ name: 'input.json', content: '{"a":1}' }],
    })
    let out = ''
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8')
    })
    expect(await proc.done).toMatchObject({ exitCode: 0 })
    const [dir, ...rest] = out.split('\n') as [string, ...string[]]
    expect(path.basename(dir)).toMatch(new RegExp(`^agent-gateway-staged-${process.pid}-`))
    // what the program (or a container that mounts the directory) sees: the staged file alone
    expect(rest.join('\n')).toBe('owned\ninput.json\n{"a":1}')
    expect(existsSync(dir)).toBe(false)
    expect(existsSync(`${dir}.owner`)).toBe(false)
  })

  it('the sweep removes what a killed gateway staged, and no look-alike or live gateway’s directory', async () => {
    // a gateway with its temp dir here that stages a file for a program, then is killed with it still running
    const sandbox = path.join(tmp, 'tmp')
    mkdirSync(sandbox)
    const gateway = startScriptGateway(
      tmp,
      `import { LocalProcessRunner } from ${moduleUrl('src/process/local-runner.ts')}
import { stagedPath } from ${moduleUrl('src/process/runner.ts')}
const proc = new LocalProcessRunner().start({
  command: 'sh',
  args: ['-c', 'echo "$$ $1"; exec sleep 60', 'sh', stagedPath('schema.json')],
  cwd: ${JSON.stringify(tmp)},
  env: { PATH: process.env.PATH },
  killGraceMs: 1000,
  files: [{ name: 'schema.json', content: '{}' }],
})
proc.stdout.pipe(process.stdout)`,
      { TMPDIR: sandbox },
    )
    let left: string
    let program: number
    try {
      const [pid, file] = (await gateway.firstLine).split(' ') as [string, string]
      program = Number(pid)
      left = path.dirname(file)
      expect(path.dirname(left)).toBe(sandbox)
      expect(readdirSync(left)).toEqual(['schema.json'])
      // while its gateway runs, the directory stays
      await sweepTempDirs(sandbox)
      expect(existsSync(left)).toBe(true)
    } finally {
      await gateway.kill()
    }
    // the program leads its own process group: it outlives its gateway, until this test ends it
    process.kill(program, 'SIGKILL')
    expect(await waitUntilGone(() => processesInGroup(program), 5000)).toEqual([])
    const ownerFile = `${left}.owner`
    const lookAlikes = makeLookAlikes(sandbox, stagedDirs, left, tmp)
    expect(lookAlikes.owner.pid).toBe(gateway.child.pid)
    // this process's own (a live gateway's) stays
    const live = makeStagedDir(sandbox)

    await sweepTempDirs(sandbox)
    expectSwept(lookAlikes)
    for (const gone of [left, ownerFile]) expect(existsSync(gone), gone).toBe(false)
    for (const kept of [live, `${live}.owner`]) expect(existsSync(kept), kept).toBe(true)
    rmSync(live, { recursive: true })
  })
})
