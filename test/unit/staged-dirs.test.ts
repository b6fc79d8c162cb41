import { spawn } from 'node:child_process'
import { once } from 'node:events'
import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LocalProcessRunner } from '../../src/process/local-runner.js'
import { stagedPath } from '../../src/process/runner.js'
import { makeStagedDir } from '../../src/process/staged-dirs.js'
import { sweepTempDirs } from '../../src/process/temp-dirs.js'
import { processesInGroup, waitUntilGone } from '../support/processes.js'
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
    const script = path.join(tmp, 'gateway.mts')
    const runnerModule = pathToFileURL(path.resolve('src/process/local-runner.ts')).href
    writeFileSync(
      script,
      `import { LocalProcessRunner } from ${JSON.stringify(runnerModule)}
const proc = new LocalProcessRunner().start({
  command: 'sh',
  args: ['-c', 'echo "$$ $1"; exec sleep 60', 'sh', '{{staged}}/schema.json'],
  cwd: ${JSON.stringify(tmp)},
  env: { PATH: process.env.PATH },
  killGraceMs: 1000,
  files: [{ name: 'schema.json', content: '{}' }],
})
proc.stdout.pipe(process.stdout)
setInterval(() => {}, 1000)
`,
    )
    const sandbox = path.join(tmp, 'tmp')
    mkdirSync(sandbox)
    const gateway = spawn(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, TMPDIR: sandbox },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let left: string
    let program: number
    try {
      const [line] = (await once(createInterface({ input: gateway.stdout! }), 'line')) as [string]
      const [pid, file] = line.split(' ') as [string, string]
      program = Number(pid)
      left = path.dirname(file)
      expect(path.dirname(left)).toBe(sandbox)
      expect(readdirSync(left)).toEqual(['schema.json'])
      // while its gateway runs, the directory stays
      await sweepTempDirs(sandbox)
      expect(existsSync(left)).toBe(true)
    } finally {
      gateway.kill('SIGKILL')
      await once(gateway, 'exit')
    }
    // the program leads its own process group: it outlives its gateway, until this test ends it
    process.kill(program, 'SIGKILL')
    expect(await waitUntilGone(() => processesInGroup(program), 5000)).toEqual([])
    const ownerFile = `${left}.owner`
    const owner = JSON.parse(readFileSync(ownerFile, 'utf8'))
    expect(owner.pid).toBe(gateway.pid)

    // look-alikes: a name alone (no owner file), an owner in another pid namespace (a container sharing /tmp),
    // another user's, a link to a directory whose owner would qualify, an owner file that is a link
    const lookAlike = (name: string, ownerText?: string) => {
      const dir = path.join(sandbox, name)
      mkdirSync(dir)
      writeFileSync(path.join(dir, 'keep'), '')
      if (ownerText !== undefined) writeFileSync(`${dir}.owner`, ownerText)
      return dir
    }
    const byName = lookAlike('agent-gateway-staged-2147483646-AbC123')
    const otherNamespace = lookAlike(
      'agent-gateway-staged-2147483645-AbC123',
      JSON.stringify({ ...owner, pidNamespace: 'pid:[1]' }),
    )
    const asRoot = process.getuid?.() === 0
    const otherUser = asRoot
      ? lookAlike('agent-gateway-staged-2147483644-AbC123', JSON.stringify(owner))
      : byName
    if (asRoot) chownSync(otherUser, 4242, 4242)
    const target = lookAlike('elsewhere', JSON.stringify(owner))
    const link = path.join(sandbox, 'agent-gateway-staged-2147483643-AbC123')
    symlinkSync(target, link)
    writeFileSync(`${link}.owner`, JSON.stringify(owner))
    const linkedOwner = lookAlike('agent-gateway-staged-2147483642-AbC123')
    symlinkSync(ownerFile, `${linkedOwner}.owner`)
    // this process's own (a live gateway's) stays
    const live = makeStagedDir(sandbox)
    // gone with their makers: one of this user left before the last boot, and an owner file whose directory
    // a removal cut short already took
    const earlierBoot = lookAlike(
      'agent-gateway-staged-2147483641-AbC123',
      JSON.stringify({ ...owner, bootId: 'an-earlier-boot' }),
    )
    const halfRemoved = path.join(sandbox, 'agent-gateway-staged-2147483640-AbC123')
    writeFileSync(`${halfRemoved}.owner`, JSON.stringify(owner))

    await sweepTempDirs(sandbox)
    for (const gone of [left, ownerFile, earlierBoot, `${earlierBoot}.owner`, `${halfRemoved}.owner`])
      expect(existsSync(gone), gone).toBe(false)
    for (const kept of [byName, otherNamespace, otherUser, target, linkedOwner, live, `${live}.owner`])
      expect(existsSync(kept), kept).toBe(true)
    expect(existsSync(`${otherNamespace}.owner`)).toBe(true)
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
    expect(lstatSync(`${link}.owner`).isFile()).toBe(true)
    expect(lstatSync(`${linkedOwner}.owner`).isSymbolicLink()).toBe(true)
    rmSync(live, { recursive: true })
  })
})
