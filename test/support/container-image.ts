import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
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
import { resolveCopilotBinary } from '../../src/agents/copilot/binary.js'
import { resolveGeminiBinary } from '../../src/agents/gemini/probe.js'
import { packageClosure } from './package-closure.js'

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
/** copilot's package, unpacked at build time (copilot otherwise unpacks ~235 MB into its cache on start). */
const copilotCache = '/opt/copilot-cache'
/** claude-agent-acp and the packages it loads, at their node_modules paths under this directory. */
const claudeAcpRoot = '/opt/claude-agent-acp'

/** The label every test image carries: global-setup prunes older images by it, and only those. */
export const testImageLabel = 'agent-gateway.test-image'
const testImageRepo = 'localhost/agent-gateway-test'
const projectRoot = path.resolve(import.meta.dirname, '../..')

/**
 * The test image, made offline from files on this machine (no registry is reachable): busybox-static for
 * a POSIX userland, bash and the trust roots; the native agents with the glibc libraries they link (codex,
 * claude, codex-acp, copilot with its package unpacked read-only in the image); node (this machine's, with its libraries),
 * the Gemini CLI package for gemini and claude-agent-acp with its packages; an unprivileged user 1000.
 * Imported with `podman import` once, labelled, and named by a hash of what went in (paths relative to
 * the project, so worktrees sharing one node_modules share one image); a later run reuses it.
 */
export function ensureTestImage(): string {
  const busybox = '/bin/busybox'
  const codex = resolveCodexBinary()
  const claude = resolveClaudeBinary()
  const codexAcp = acpPreset('codex-acp').command
  const claudeAcp = acpPreset('claude-agent-acp').command
  const gemini = resolveGeminiBinary()
  const copilot = resolveCopilotBinary()
  const node = process.execPath
  if (!codex || !claude || !codexAcp || !claudeAcp || !gemini || !copilot?.endsWith('/copilot'))
    throw new Error(
      'the container tests need codex, claude, codex-acp, claude-agent-acp, gemini and copilot from node_modules',
    )
  // bash: Claude Code and the Gemini CLI run their shell commands with it (busybox has only ash)
  const natives: Record<string, string> = {
    codex,
    claude,
    'codex-acp': codexAcp,
    copilot,
    node,
    bash: '/bin/bash',
  }
  // copilot (like any TLS client) wants the system trust roots, even to talk plain HTTP to a provider
  const caCertificates = '/etc/ssl/certs/ca-certificates.crt'
  const geminiPackage = path.dirname(path.dirname(gemini))
  const claudeAcpPackages = packageClosure(path.dirname(path.dirname(claudeAcp)))
  const libs = Object.values(natives).flatMap(sharedLibraries)
  const inputs = [
    busybox,
    caCertificates,
    ...Object.values(natives),
    path.join(geminiPackage, 'package.json'),
    ...claudeAcpPackages.map((dir) => path.join(dir, 'package.json')),
    ...new Set(libs),
  ]
  const hash = createHash('sha256')
  hash.update('recipe-4')
  for (const file of inputs) {
    const s = statSync(file)
    const name = file.startsWith(`${projectRoot}/`) ? path.relative(projectRoot, file) : file
    hash.update(`${name}:${s.size}:${s.mtimeMs}\n`)
  }
  const tag = `${testImageRepo}:${hash.digest('hex').slice(0, 16)}`
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
    mkdirSync(path.join(root, path.dirname(caCertificates)), { recursive: true })
    copyFileSync(caCertificates, path.join(root, caCertificates))
    for (const [name, file] of Object.entries(natives)) {
      copyFileSync(file, path.join(root, 'usr/local/bin', name))
      chmodSync(path.join(root, 'usr/local/bin', name), 0o755)
    }
    symlinkSync('/usr/local/bin/bash', path.join(root, 'bin/bash'))
    // copilot unpacks its package on any start (`--version` included): unpack it into the image, read-only
    execFileSync(copilot, ['--version'], {
      env: { PATH: env.PATH ?? '', HOME: root, COPILOT_PKG_CACHE_HOME: path.join(root, copilotCache) },
      stdio: 'pipe',
    })
    const copilotAddons = findFiles(path.join(root, copilotCache), (f) => f.includes('/prebuilds/linux-'))
    for (const lib of new Set([...libs, ...copilotAddons.flatMap(sharedLibraries)])) {
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
    for (const dir of claudeAcpPackages)
      cpSync(dir, path.join(root, claudeAcpRoot, path.relative(projectRoot, dir)), {
        recursive: true,
        dereference: true,
      })
    writeFileSync(
      path.join(root, 'usr/local/bin/claude-agent-acp'),
      `#!/bin/sh\nexec /usr/local/bin/node ${path.join(claudeAcpRoot, path.relative(projectRoot, claudeAcp))} "$@"\n`,
      { mode: 0o755 },
    )
    writeFileSync(
      path.join(root, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/sh\nagent:x:1000:1000:agent:/home/agent:/bin/sh\n',
    )
    writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\nagent:x:1000:\n')
    const tar = path.join(os.tmpdir(), `agw-rootfs-${process.pid}.tar`)
    execFileSync('tar', ['-C', root, '-cf', tar, '.'])
    const changes = [
      'ENV=PATH=/usr/local/bin:/bin',
      `ENV=COPILOT_PKG_CACHE_HOME=${copilotCache}`,
      // claude-agent-acp runs the image's Claude Code (its SDK's own 330 MB copy is not in the image)
      'ENV=CLAUDE_CODE_EXECUTABLE=/usr/local/bin/claude',
      'USER=1000:1000',
      `LABEL=${testImageLabel}=1`,
    ]
    try {
      execFileSync(testEngine, ['import', ...changes.flatMap((c) => ['--change', c]), tar, tag], {
        env,
        stdio: 'pipe',
      })
    } finally {
      rmSync(tar, { force: true })
    }
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
  return tag
}

/**
 * Removes this project's older test images (labelled `agent-gateway.test-image`; each node_modules builds
 * its own, about 1.5 GB): all but `current` and the newest other one (a suite of an older checkout may be
 * running right now). An image a container still uses is refused by the engine and stays.
 */
export function pruneTestImages(current: string): string[] {
  const env = engineEnv()
  const out = execFileSync(
    testEngine,
    ['images', '--filter', `label=${testImageLabel}=1`, '--format', 'json'],
    { env, encoding: 'utf8' },
  )
  const images = JSON.parse(out || '[]') as { Names?: string[]; Created: number }[]
  const others = images
    .flatMap((image) => (image.Names ?? []).map((ref) => ({ ref, created: image.Created })))
    .filter((image) => image.ref !== current && image.ref.startsWith(`${testImageRepo}:`))
    .sort((a, b) => b.created - a.created)
  const removed: string[] = []
  for (const { ref } of others.slice(1))
    if (spawnSync(testEngine, ['rmi', ref], { env, stdio: 'ignore' }).status === 0) removed.push(ref)
  return removed
}

function findFiles(dir: string, keep: (file: string) => boolean): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .filter(keep)
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
