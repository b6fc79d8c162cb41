import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { resolveClaudeBinary } from '../../src/agents/claude/probe.js'
import { resolveCodexBinary } from '../../src/agents/codex-binary.js'

/** The containers.conf this machine's podman needs (runc; ulimits the VM can grant). */
export const containersConf = path.resolve(import.meta.dirname, '../fixtures/containers/containers.conf')

/** The engine the container tests use: podman, configured through CONTAINERS_CONF. */
export const testEngine = 'podman'

export function engineEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? containersConf,
  }
}

/** The image global-setup built (AGW_TEST_IMAGE), or built now. */
export function testImage(): string {
  return process.env.AGW_TEST_IMAGE ?? ensureTestImage()
}

/**
 * The test image, made offline from files on this machine (no registry is reachable): busybox-static for
 * a POSIX userland, codex's static native binary, claude's binary with the glibc libraries it links, an
 * unprivileged user 1000. Imported with `podman import` once and named by a hash of what went in, so a
 * later run (or another test file) reuses it.
 */
export function ensureTestImage(): string {
  const busybox = '/bin/busybox'
  const codex = resolveCodexBinary()
  const claude = resolveClaudeBinary()
  if (!codex || !claude) throw new Error('the container tests need codex and claude from node_modules')
  const libs = sharedLibraries(claude)
  const inputs = [busybox, codex, claude, ...libs]
  const hash = createHash('sha256')
  hash.update('recipe-1')
  for (const file of inputs) {
    const s = statSync(file)
    hash.update(`${file}:${s.size}:${s.mtimeMs}\n`)
  }
  const tag = `localhost/agent-gateway-test:${hash.digest('hex').slice(0, 16)}`
  const env = engineEnv()
  if (spawnSync(testEngine, ['image', 'exists', tag], { env }).status === 0) return tag

  const root = mkdtempSync(path.join(os.tmpdir(), 'agw-rootfs-'))
  try {
    for (const dir of ['bin', 'usr/local/bin', 'etc', 'tmp', 'home/agent', 'proc', 'sys', 'dev'])
      mkdirSync(path.join(root, dir), { recursive: true })
    chmodSync(path.join(root, 'tmp'), 0o1777)
    copyFileSync(busybox, path.join(root, 'bin/busybox'))
    chmodSync(path.join(root, 'bin/busybox'), 0o755)
    const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean)
    for (const applet of applets)
      if (applet !== 'busybox') symlinkSync('busybox', path.join(root, 'bin', applet))
    copyFileSync(codex, path.join(root, 'usr/local/bin/codex'))
    copyFileSync(claude, path.join(root, 'usr/local/bin/claude'))
    chmodSync(path.join(root, 'usr/local/bin/codex'), 0o755)
    chmodSync(path.join(root, 'usr/local/bin/claude'), 0o755)
    for (const lib of libs) {
      mkdirSync(path.join(root, path.dirname(lib)), { recursive: true })
      copyFileSync(lib, path.join(root, lib))
    }
    writeFileSync(
      path.join(root, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/sh\nagent:x:1000:1000:agent:/home/agent:/bin/sh\n',
    )
    writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\nagent:x:1000:\n')
    const tar = path.join(os.tmpdir(), `agw-rootfs-${process.pid}.tar`)
    execFileSync('tar', ['-C', root, '-cf', tar, '.'])
    try {
      execFileSync(
        testEngine,
        ['import', '--change', 'ENV=PATH=/usr/local/bin:/bin', '--change', 'USER=1000:1000', tar, tag],
        { env, stdio: 'pipe' },
      )
    } finally {
      rmSync(tar, { force: true })
    }
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
  return tag
}

/** The shared libraries a dynamically linked binary loads (from ldd), the loader included. */
function sharedLibraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' })
  const libs = new Set<string>()
  for (const line of out.split('\n')) {
    const m = /(\/\S+)\s+\(0x/.exec(line)
    if (m?.[1]) libs.add(m[1])
  }
  return [...libs]
}
