import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { pathToFileURL } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readText } from '../../src/process/lines.js'
import { pacedSpawn } from '../../src/process/paced-spawn.js'
import { spawnHostReady, spawnHostRunning } from '../../src/process/spawn-child.js'
import { type ChildSpawner, spawnGroup } from '../../src/process/spawn-group.js'
import { SpawnHost } from '../../src/process/spawn-host.js'
import { listProcesses, processesInGroup, processesUnder, waitUntilGone } from '../support/processes.js'
import { removeDir, tempDir } from '../support/temp.js'

// The spawn host under load and when things go wrong (spawn-host.test.ts has how it works). A file of its own:
// the last test kills the host this file's spawnChild() uses.
let cwd: string
beforeEach(() => {
  cwd = tempDir('spawn-stress-')
})
afterEach(() => removeDir(cwd))

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' }
const openFds = (pid: number | 'self') => readdirSync(`/proc/${pid}/fd`).length

async function textOf(stream: Readable): Promise<string> {
  let text = ''
  for await (const t of readText(stream)) text += t
  return text
}

/** `sh -c script`, spawned by `spawner` (by default what the server uses: spawn-child.ts). */
const sh = (script: string, spawner?: ChildSpawner) =>
  spawnGroup({ command: 'sh', args: ['-c', script], cwd, env, killGraceMs: 1000 }, spawner)

/** Runs `source` (TypeScript, with `host`: a started SpawnHost) as a gateway process of its own. */
function gatewayScript(source: string): string {
  const script = path.join(cwd, 'gateway.mts')
  const hostModule = pathToFileURL(path.resolve('src/process/spawn-host.ts')).href
  const groupModule = pathToFileURL(path.resolve('src/process/spawn-group.ts')).href
  writeFileSync(
    script,
    `import { SpawnHost } from ${JSON.stringify(hostModule)}
import { spawnGroup } from ${JSON.stringify(groupModule)}
const host = (await SpawnHost.start())!
const spawner = (s) => host.spawn(s)
const cwd = ${JSON.stringify(cwd)}
const env = { PATH: process.env.PATH }
${source}`,
  )
  return script
}

describe('the spawn host under stress', () => {
  it('spawns a burst of 200 in order, loses nothing, and leaks no descriptor here or in the host', async () => {
    const host = (await SpawnHost.start())!
    try {
      const spawner: ChildSpawner = (s) => host.spawn(s)
      // warm: the first spawn opens what node keeps open for spawns afterwards
      expect(await sh('true', spawner).done).toMatchObject({ exitCode: 0 })
      const gatewayBefore = openFds('self')
      const hostBefore = openFds(host.pid!)
      // quick ones (exited before their sockets were accepted), ones that close stdout early and go on writing to
      // stderr, and ones that read their stdin
      const kinds = ['echo "$1"', 'exec >&-; echo "$1 on stderr" >&2', 'read line; echo "$1 $line"']
      const procs = Array.from({ length: 200 }, (_, i) =>
        spawnGroup(
          {
            command: 'sh',
            args: ['-c', kinds[i % 3]!, 'sh', String(i)],
            cwd,
            env,
            killGraceMs: 1000,
            stdin: 'read\n',
          },
          spawner,
        ),
      )
      const outputs = await Promise.all(procs.map((p) => Promise.all([textOf(p.stdout), textOf(p.stderr)])))
      const expected = (i: number) =>
        [
          [`${i}\n`, ''],
          ['', `${i} on stderr\n`],
          [`${i} read\n`, ''],
        ][i % 3]
      expect(outputs).toEqual(procs.map((_, i) => expected(i)))
      const outcomes = await Promise.all(procs.map((p) => p.done))
      expect(outcomes.filter((o) => o.exitCode !== 0 || o.reason !== 'exited')).toEqual([])
      // the pids are the children's own, each once
      const pids = await Promise.all(procs.map((p) => p.started))
      expect(new Set(pids).size).toBe(200)
      await expect.poll(() => openFds('self')).toBe(gatewayBefore)
      await expect.poll(() => openFds(host.pid!)).toBe(hostBefore)
    } finally {
      await host.stop()
    }
  })

  it('reports spawn errors as a spawn on this thread does: missing command, missing or bad cwd, too long or NUL-bearing args', async () => {
    const host = (await SpawnHost.start())!
    try {
      const specs = [
        { command: 'agw-no-such-command', args: [], cwd },
        { command: 'true', args: [], cwd: path.join(cwd, 'missing') },
        { command: 'true', args: [], cwd: '/etc/passwd' },
        // one argument beyond the kernel's limit for a single string (128 KiB)
        { command: 'true', args: ['x'.repeat(200_000)], cwd },
        // refused by node itself, before any fork
        { command: 'true', args: ['nul\0byte'], cwd },
      ]
      const hostBefore = openFds(host.pid!)
      for (const spec of specs) {
        const viaHost = await spawnGroup({ ...spec, env, killGraceMs: 1000 }, (s) => host.spawn(s)).done
        const here = await spawnGroup({ ...spec, env, killGraceMs: 1000 }, pacedSpawn).done
        expect(viaHost).toMatchObject({ reason: 'spawn_failed', exitCode: null, error: here.error })
        expect(here.error).toBeTruthy()
      }
      // and it spawns on, with no descriptor left from the failed ones
      expect(await sh('true', (s) => host.spawn(s)).done).toMatchObject({ exitCode: 0, reason: 'exited' })
      await expect.poll(() => openFds(host.pid!)).toBe(hostBefore)
    } finally {
      await host.stop()
    }
  })

  it('passes arguments and environment of nearly ARG_MAX (a 1.8 MB request) intact', async () => {
    const host = (await SpawnHost.start())!
    try {
      const arg = 'a'.repeat(100_000)
      const bigEnv = { ...env, AGW_BIG: 'e'.repeat(100_000) }
      const proc = spawnGroup(
        {
          command: 'sh',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter lengths, not a template
          args: ['-c', 'echo $# ${#1} ${#AGW_BIG}', 'sh', ...Array.from({ length: 17 }, () => arg)],
          cwd,
          env: bigEnv,
          killGraceMs: 1000,
        },
        (s) => host.spawn(s),
      )
      expect(await textOf(proc.stdout)).toBe('17 100000 100000\n')
      expect(await proc.done).toMatchObject({ exitCode: 0, reason: 'exited' })
    } finally {
      await host.stop()
    }
  })

  it('ignores the signals meant for the gateway’s process group', async () => {
    const host = (await SpawnHost.start())!
    try {
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.kill(host.pid!, signal)
      // a pending signal that ended the host would end it before it read this request
      const proc = sh('echo $PPID', (s) => host.spawn(s))
      expect(await textOf(proc.stdout)).toBe(`${host.pid}\n`)
      expect(await proc.done).toMatchObject({ exitCode: 0, reason: 'exited' })
      expect(host.usable).toBe(true)
    } finally {
      await host.stop()
    }
  })

  it('gives a child its three stdio sockets and no other descriptor, not even one the gateway inherited', async () => {
    const script = gatewayScript(`
const proc = spawnGroup({ command: 'sh', args: ['-c', 'ls /proc/$$/fd'], cwd, env, killGraceMs: 1000 }, spawner)
let out = ''
for await (const chunk of proc.stdout) out += chunk
await proc.done
const inherited = (await import('node:fs')).readdirSync('/proc/self/fd').includes('200')
console.log(JSON.stringify({ inherited, child: out.trim().split('\\n') }))
await host.stop()
`)
    // fd 200 of the gateway: a file it inherited without close-on-exec, as from a supervisor or a shell (node marks
    // close-on-exec only the low descriptors it finds at its start)
    const gateway = spawn(
      'bash',
      ['-c', 'exec "$0" --import tsx "$1" 200</dev/null', process.execPath, script],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    try {
      const [line] = (await once(createInterface({ input: gateway.stdout! }), 'line')) as [string]
      expect(JSON.parse(line)).toEqual({ inherited: true, child: ['0', '1', '2'] })
    } finally {
      gateway.kill('SIGKILL')
      await once(gateway, 'exit')
    }
  })

  it('lets an idle gateway exit, and keeps a busy one until its child exited (even one that closed its stdio)', async () => {
    const script = gatewayScript(`
if (process.argv[2] === 'busy') {
  const proc = spawnGroup({ command: 'sh', args: ['-c', 'exec <&- >&- 2>&-; sleep 1'], cwd, env, killGraceMs: 1000 }, spawner)
  proc.done.then((outcome) => console.log(outcome.reason, outcome.exitCode))
}
process.on('exit', () => console.log('host', host.pid))
`)
    const run = async (mode: string) => {
      const gateway = spawn(process.execPath, ['--import', 'tsx', script, mode], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      const lines: string[] = []
      createInterface({ input: gateway.stdout! }).on('line', (line) => lines.push(line))
      const [code] = await once(gateway, 'exit')
      return { code, lines }
    }
    const idle = await run('idle')
    expect(idle).toMatchObject({ code: 0, lines: [expect.stringMatching(/^host \d+$/)] })
    const busy = await run('busy')
    expect(busy).toMatchObject({ code: 0, lines: ['exited 0', expect.stringMatching(/^host \d+$/)] })
    // and the hosts end with their gateways
    const hosts = [idle, busy].map((r) => Number(r.lines.at(-1)!.split(' ')[1]))
    expect(await waitUntilGone(() => listProcesses().filter((p) => hosts.includes(p.pid)), 5000)).toEqual([])
  })

  it('when the host is killed mid-burst: running children are killed, spawns on their way run here, none twice at once', async () => {
    expect(await spawnHostReady()).toBe(true)
    const gatewayBefore = openFds('self')
    // each holds a lock of its own while it runs: an attempt that started while the one before it (spawned by the
    // host but never reported) was still alive would find its lock taken
    const procs = Array.from({ length: 100 }, (_, i) =>
      spawnGroup({
        command: 'sh',
        args: ['-c', `exec 9>lock-${i}; flock -n 9 || echo ${i} >> twice; echo $PPID; read line || true`],
        cwd,
        env,
        killGraceMs: 1000,
        stdin: { keepOpen: true },
      }),
    )
    const firstOut = createInterface({ input: procs[0]!.stdout })
    const [hostLine] = (await once(firstOut, 'line')) as [string]
    const hostPid = Number(hostLine)
    expect(hostPid).not.toBe(process.pid)
    await procs[0]!.started
    // this thread busy (no turn of its event loop) while the host spawns ten more: their pids wait unread on the
    // IPC channel when the host dies (those spawns count as on their way: killed by marker, then spawned again)
    const hostChildren = () => listProcesses().filter((p) => p.ppid === hostPid).length
    while (hostChildren() < 11) {}
    process.kill(hostPid, 'SIGKILL')
    const pids = await Promise.all(procs.map((p) => p.started))
    expect(pids.every((pid) => pid !== undefined)).toBe(true)
    const outputs = Promise.all(procs.map((p, i) => (i === 0 ? '' : textOf(p.stdout))))
    for (const p of procs) p.stdin.end()
    // every spawn that ran to its end is this thread's (the host died young), and had its lock
    const parents = (await outputs).map((text) => Number(text.trim()))
    const outcomes = await Promise.all(procs.map((p) => p.done))
    const retried = outcomes.filter((o) => o.exitCode === 0)
    for (const [i, o] of outcomes.entries()) {
      if (o.exitCode === 0) expect(parents[i]).toBe(process.pid)
      else expect(o).toMatchObject({ signal: 'SIGKILL' })
    }
    expect(outcomes[0]).toMatchObject({ signal: 'SIGKILL' })
    expect(retried.length).toBeGreaterThan(50)
    expect(existsSync(path.join(cwd, 'twice'))).toBe(false)
    expect(await waitUntilGone(() => pids.flatMap((pid) => processesInGroup(pid!)), 5000)).toEqual([])
    expect(await waitUntilGone(() => processesUnder(cwd), 5000)).toEqual([])
    expect(spawnHostRunning()).toBe(false)
    // the next spawn is this process's own
    const after = sh('echo $PPID')
    expect(await textOf(after.stdout)).toBe(`${process.pid}\n`)
    expect(await after.done).toMatchObject({ exitCode: 0, reason: 'exited' })
    await expect.poll(() => openFds('self')).toBeLessThanOrEqual(gatewayBefore)
  })
})
