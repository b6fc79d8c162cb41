import { execFile, execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ContainerOptions } from '../../src/process/container/container-options.js'
import { ContainerProcessRunner } from '../../src/process/container/container-runner.js'
import { readText } from '../../src/process/lines.js'
import type { LaunchSpec } from '../../src/process/runner.js'
import { runnerContract } from '../contract/runner-contract.js'
import { engineEnv, testEngine, testImage } from '../support/container-image.js'
import { gatewayContainers, removeContainers, testInstance } from '../support/containers.js'
import { processesUnder } from '../support/processes.js'
import { removeDir, tempDir } from '../support/temp.js'

const execFileAsync = promisify(execFile)

let image = ''
/**
 * Every runner's instance label: the cases run at once (a container's start and end mostly wait on the engine),
 * so each counts the containers of its own runner's instance.
 */
const instances: string[] = []
const newInstance = () => {
  const instance = testInstance()
  instances.push(instance)
  return instance
}

function options(extra: Partial<ContainerOptions> = {}): ContainerOptions {
  return {
    engine: testEngine,
    image,
    network: 'none',
    pidsLimit: 64,
    user: '1000:1000',
    tmpfsSize: '64m',
    engineEnv: engineEnv(),
    ...extra,
    instance: extra.instance ?? newInstance(),
  }
}

beforeAll(() => {
  image = testImage()
}, 300_000)

afterAll(async () => {
  expect((await Promise.all(instances.map(gatewayContainers))).flat()).toEqual([])
})

runnerContract('containers (podman)', {
  create: () => new ContainerProcessRunner(options()),
  env: { PATH: '/bin' },
  leftovers: async (cwd, runner) => [
    ...(await gatewayContainers((runner as ContainerProcessRunner).options.instance)),
    ...processesUnder(cwd).map((p) => `${p.pid} ${p.cmd}`),
  ],
  settleMs: 5000,
  // every process of a container ends with it, and a container lives as long as its program
  escaped: 'with the program',
  concurrent: true,
  startMs: 2000,
})

async function output(
  runner: ContainerProcessRunner,
  spec: Partial<LaunchSpec> & { args: string[]; cwd: string },
) {
  const proc = runner.start({ command: 'sh', env: { PATH: '/bin' }, killGraceMs: 1000, ...spec })
  let stdout = ''
  let stderr = ''
  await Promise.all([
    (async () => {
      for await (const t of readText(proc.stdout)) stdout += t
    })(),
    (async () => {
      for await (const t of readText(proc.stderr)) stderr += t
    })(),
  ])
  return { outcome: await proc.done, stdout, stderr }
}

describe.concurrent('the container runner', () => {
  let cwd: string
  beforeAll(() => {
    cwd = tempDir('container-')
    chmodSync(cwd, 0o777)
  })
  afterAll(() => removeDir(cwd))

  it('runs hardened: non-root, no capabilities, no new privileges, read-only root, a pid limit', async () => {
    const runner = new ContainerProcessRunner(options())
    const { outcome, stdout } = await output(runner, {
      cwd,
      args: [
        '-c',
        'id -u; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status; touch /etc/x 2>/dev/null || echo root-ro; ' +
          'touch /tmp/x && echo tmp-rw; cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max',
      ],
    })
    expect(outcome).toMatchObject({ exitCode: 0, reason: 'exited' })
    const lines = stdout.trim().split('\n')
    expect(lines[0]).toBe('1000')
    expect(stdout).toMatch(/CapEff:\s+0000000000000000/)
    expect(stdout).toMatch(/NoNewPrivs:\s+1/)
    expect(lines).toContain('root-ro')
    expect(lines).toContain('tmp-rw')
    expect(lines.at(-1)).toBe('64')
  })

  it('applies CONTAINER_ULIMITS as --ulimit', async () => {
    // (a --ulimit replaces podman's default_ulimits: nproc stays at what this VM can grant)
    const runner = new ContainerProcessRunner(options({ ulimits: ['nofile=512:4096', 'nproc=1000:1000'] }))
    const { outcome, stdout } = await output(runner, { cwd, args: ['-c', 'ulimit -Sn; ulimit -Hn'] })
    expect(outcome.exitCode).toBe(0)
    expect(stdout).toBe('512\n4096\n')
  })

  it('mounts the cwd read-only unless the launch may write there', async () => {
    const runner = new ContainerProcessRunner(options())
    const ro = await output(runner, { cwd, args: ['-c', 'echo x > written.txt'] })
    expect(ro.outcome.exitCode).not.toBe(0)
    expect(ro.stderr).toMatch(/Read-only file system/)
    const rw = await output(runner, {
      cwd,
      writableCwd: true,
      args: ['-c', 'echo x > written.txt && cat written.txt'],
    })
    expect(rw.outcome.exitCode).toBe(0)
    expect(rw.stdout).toBe('x\n')
  })

  it('mounts paths holding `:`, `=`, `,`, `"` or a line break at their own paths, read-only unless writable', async () => {
    const ro = path.join(cwd, 'r:o=ro,source=etc')
    const rw = path.join(cwd, 'w:r=i:te,"x"\ny')
    for (const dir of [ro, rw]) {
      mkdirSync(dir)
      chmodSync(dir, 0o777)
    }
    writeFileSync(path.join(ro, 'given.txt'), 'given\n')
    const runner = new ContainerProcessRunner(options())
    const { outcome, stdout, stderr } = await output(runner, {
      cwd: ro,
      mounts: [{ path: rw, writable: true }],
      args: ['-c', 'pwd; cat given.txt; echo x > here.txt; echo y > "$W/there.txt" && echo wrote'],
      env: { PATH: '/bin', W: rw },
    })
    expect(outcome.exitCode, stderr).toBe(0)
    expect(stdout).toBe(`${ro}\ngiven\nwrote\n`)
    expect(stderr).toMatch(/Read-only file system/)
    expect(readFileSync(path.join(rw, 'there.txt'), 'utf8')).toBe('y\n')
  })

  it('starts no container for a cwd or mount whose path podman cannot mount (CR LF): spawn_failed, naming it', async () => {
    const runner = new ContainerProcessRunner(options())
    const crlf = path.join(cwd, 'x\r\ny')
    mkdirSync(crlf)
    for (const spec of [{ cwd: crlf }, { cwd, mounts: [{ path: crlf, writable: false }] }]) {
      const { outcome } = await output(runner, { ...spec, args: ['-c', 'true'] })
      expect(outcome).toMatchObject({
        reason: 'spawn_failed',
        error: expect.stringContaining('holds a carriage return before a line break'),
      })
    }
    expect(await gatewayContainers(runner.options.instance)).toEqual([])
  })

  it('hands env in by name only: no value appears on the engine command line', async () => {
    const runner = new ContainerProcessRunner(options())
    const secret = 'sk-secret-value-42'
    const proc = runner.start({
      command: 'sh',
      args: ['-c', 'echo ready; echo "$API_KEY"; sleep 30'],
      cwd,
      env: { PATH: '/bin', API_KEY: secret },
      killGraceMs: 500,
    })
    const chunks: string[] = []
    const lines = (async () => {
      for await (const t of readText(proc.stdout)) chunks.push(t)
    })()
    while (!chunks.join('').includes(secret)) await new Promise((r) => setTimeout(r, 20))
    const cmdline = readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
    expect(cmdline).toContain('-e API_KEY')
    expect(cmdline).not.toContain(secret)
    proc.terminate('cancelled')
    expect((await proc.done).reason).toBe('cancelled')
    await lines
  })

  it('a program missing from the image is spawn_failed, naming the image', async () => {
    const runner = new ContainerProcessRunner(options())
    const { outcome } = await output(runner, { cwd, command: 'no-such-agent', args: [] })
    expect(outcome.reason).toBe('spawn_failed')
    expect(outcome.error).toContain(image)
  })

  describe("a `run` client that loses the container's output (podman 4.3 may, for a program that ends at once)", () => {
    // The engine is real podman behind a stand-in named `podman` whose `run` client passes nothing on: the loss,
    // seen once in CI and not reproduced at will here, made certain. The container, its conmon and its log are real.
    let dir: string
    let engine: string
    /** A runner of its own per case: the second counts its instance's containers while the first may run. */
    const lossy = () => new ContainerProcessRunner(options({ engine }))
    beforeAll(() => {
      dir = tempDir('lossy-engine-')
      const real = execFileSync('sh', ['-c', 'command -v podman'], { env: engineEnv() }).toString().trim()
      engine = path.join(dir, 'podman')
      writeFileSync(
        engine,
        `#!/bin/sh\nif [ "$1" = run ]; then exec '${real}' "$@" >/dev/null 2>&1; fi\nexec '${real}' "$@"\n`,
        { mode: 0o755 },
      )
    })
    afterAll(() => removeDir(dir))

    it("passes on what the engine kept: the program's stdout and stderr, its exit code", async () => {
      const { outcome, stdout, stderr } = await output(lossy(), {
        cwd,
        args: ['-c', 'echo out; printf "no line end"; echo "bad option: --nope" >&2; exit 3'],
      })
      expect(outcome).toMatchObject({ reason: 'exited', exitCode: 3 })
      expect(stdout).toBe('out\nno line end')
      expect(stderr).toBe('bad option: --nope\n')
    })

    it("a program missing from the image is still spawn_failed, in the init's words", async () => {
      const runner = lossy()
      const { outcome, stderr } = await output(runner, { cwd, command: 'no-such-agent', args: [] })
      expect(stderr).toMatch(/failed to exec pid1/)
      expect(outcome.reason).toBe('spawn_failed')
      expect(outcome.error).toMatch(/no-such-agent: not found in image .*failed to exec pid1/s)
      expect(await gatewayContainers(runner.options.instance)).toEqual([])
    })
  })

  it('reclaim() removes the containers a crashed predecessor of the same instance left', async () => {
    // what a gateway killed with -9 leaves: its containers, still running, with nobody to end them
    // (test/e2e/container-leaks.test.ts does this with a real server process)
    const crashed = newInstance()
    const other = newInstance()
    // started at once: one after the other, three `run -d` took most of the test
    await Promise.all(
      [crashed, crashed, other].map((owner) =>
        execFileAsync(
          testEngine,
          [
            'run',
            '-d',
            '--name',
            `agw-${owner}-${Math.random().toString(36).slice(2, 8)}`,
            '--label',
            'agent-gateway=1',
            '--label',
            `agent-gateway.instance=${owner}`,
            image,
            'sleep',
            '60',
          ],
          { env: engineEnv() },
        ),
      ),
    )
    expect(await gatewayContainers(crashed)).toHaveLength(2)
    const successor = new ContainerProcessRunner(options({ instance: crashed }))
    expect(await successor.reclaim()).toBe(true)
    expect(await gatewayContainers(crashed)).toEqual([])
    expect(await successor.reclaim()).toBe(false)
    // another instance's containers are not its to remove
    expect(await gatewayContainers(other)).toHaveLength(1)
    await removeContainers(await gatewayContainers(other))
  })

  it('describes the engine and its version', async () => {
    const info = await new ContainerProcessRunner(options()).describe()
    expect(info).toMatchObject({ kind: 'container', engine: testEngine, available: true })
    expect(info.version).toMatch(/^\d+\.\d+/)
  })
})
