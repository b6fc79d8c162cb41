import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { acpPreset } from '../../src/agents/acp/agent-spec.js'
import { resolveClaudeBinary } from '../../src/agents/claude/probe.js'
import { resolveCodexBinary } from '../../src/agents/codex-binary.js'
import { resolveGeminiBinary } from '../../src/agents/gemini/probe.js'

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

/** Where the Gemini CLI package lives inside the test image (`gemini` runs its bundle with node). */
const geminiDir = '/opt/gemini-cli'

/**
 * The test image, made offline from files on this machine (no registry is reachable): busybox-static for
 * a POSIX userland; the native agents with the glibc libraries they link (codex, claude, codex-acp); node
 * (this machine's, with its libraries) and the Gemini CLI package for gemini; an unprivileged user 1000.
 * Imported with `podman import` once and named by a hash of what went in, so a later run (or another test
 * file) reuses it.
 */
export function ensureTestImage(): string {
  const busybox = '/bin/busybox'
  const codex = resolveCodexBinary()
  const claude = resolveClaudeBinary()
  const codexAcp = acpPreset('codex-acp').command
  const gemini = resolveGeminiBinary()
  const node = process.execPath
  if (!codex || !claude || !codexAcp || !gemini)
    throw new Error('the container tests need codex, claude, codex-acp and gemini from node_modules')
  const natives: Record<string, string> = { codex, claude, 'codex-acp': codexAcp, node }
  const geminiPackage = path.dirname(path.dirname(gemini))
  const libs = [...new Set(Object.values(natives).flatMap(sharedLibraries))]
  const inputs = [busybox, ...Object.values(natives), path.join(geminiPackage, 'package.json'), ...libs]
  const hash = createHash('sha256')
  hash.update('recipe-2')
  for (const file of inputs) {
    const s = statSync(file)
    hash.update(`${file}:${s.size}:${s.mtimeMs}\n`)
  }
  const tag = `localhost/agent-gateway-test:${hash.digest('hex').slice(0, 16)}`
  const env = engineEnv()
  if (spawnSync(testEngine, ['image', 'exists', tag], { env }).status === 0) return tag

  const root = mkdtempSync(path.join(os.tmpdir(), 'agw-rootfs-'))
  try {
    for (const dir of ['bin', 'usr/bin', 'usr/local/bin', 'etc', 'tmp', 'home/agent', 'proc', 'sys', 'dev'])
      mkdirSync(path.join(root, dir), { recursive: true })
    chmodSync(path.join(root, 'tmp'), 0o1777)
    copyFileSync(busybox, path.join(root, 'bin/busybox'))
    chmodSync(path.join(root, 'bin/busybox'), 0o755)
    const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean)
    for (const applet of applets)
      if (applet !== 'busybox') symlinkSync('busybox', path.join(root, 'bin', applet))
    symlinkSync('/bin/env', path.join(root, 'usr/bin/env'))
    for (const [name, file] of Object.entries(natives)) {
      copyFileSync(file, path.join(root, 'usr/local/bin', name))
      chmodSync(path.join(root, 'usr/local/bin', name), 0o755)
    }
    for (const lib of libs) {
      mkdirSync(path.join(root, path.dirname(lib)), { recursive: true })
      copyFileSync(lib, path.join(root, lib))
    }
    cpSync(geminiPackage, path.join(root, geminiDir), { recursive: true, dereference: true })
    const geminiMain = path.join(geminiDir, path.relative(geminiPackage, gemini))
    writeFileSync(
      path.join(root, 'usr/local/bin/gemini'),
      `#!/bin/sh\nexec /usr/local/bin/node ${geminiMain} "$@"\n`,
      { mode: 0o755 },
    )
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

/** The shared libraries a dynamically linked binary loads (from ldd), the loader included; none if static. */
function sharedLibraries(binary: string): string[] {
  const ldd = spawnSync('ldd', [binary], { encoding: 'utf8' })
  const libs = new Set<string>()
  for (const line of (ldd.stdout ?? '').split('\n')) {
    const m = /(\/\S+)\s+\(0x/.exec(line)
    if (m?.[1]) libs.add(m[1])
  }
  return [...libs]
}
