import { execFileSync } from 'node:child_process'
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import path from 'node:path'
import { acpPreset } from '../../src/agents/acp/agent-spec.js'
import { resolveClaudeBinary } from '../../src/agents/claude/probe.js'
import { resolveCodexBinary } from '../../src/agents/codex-binary.js'
import { resolveCopilotBinary } from '../../src/agents/copilot/binary.js'
import { resolveGeminiBinary } from '../../src/agents/gemini/probe.js'
import { imageInputsFingerprint } from './image-fingerprint.js'
import { ensureImage, type ImageRecipe, imagesStateDir } from './image-import.js'
import { leaseImage } from './image-leases.js'
import { pruneImages } from './image-prune.js'
import type { LockOptions } from './owner-lock.js'
import { packageClosure } from './package-closure.js'
import { suiteOwner } from './process-owner.js'
import { sharedLibraries } from './shared-libraries.js'

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

/**
 * The image global-setup made sure of (AGW_TEST_IMAGE), or one made sure of now: in a run whose files global
 * setup did not take for container tests (suite-needs.ts), or outside vitest.
 */
export function testImage(): string {
  // kept here, not in process.env: a test file must leave the env as it found it (test/support/state-check.ts)
  madeSure ??= process.env.AGW_TEST_IMAGE ?? ensureTestImage()
  return madeSure
}
let madeSure: string | undefined

/** Where the Gemini CLI package lives inside the test image (`gemini` runs its bundle with node). */
const geminiDir = '/opt/gemini-cli'
/** copilot's package, unpacked at build time (copilot otherwise unpacks ~235 MB into its cache on start). */
const copilotCache = '/opt/copilot-cache'
/** claude-agent-acp and the packages it loads, at their node_modules paths under this directory. */
const claudeAcpRoot = '/opt/claude-agent-acp'

/** The label every test image carries: pruneTestImages looks at those images only. */
export const testImageLabel = 'agent-gateway.test-image'
const testImageRepo = 'localhost/agent-gateway-test'
const testImageKind = { repo: testImageRepo, label: `${testImageLabel}=1` }
const projectRoot = path.resolve(import.meta.dirname, '../..')

/**
 * The test image, made offline from files on this machine (no registry is reachable): busybox-static for
 * a POSIX userland, bash and the trust roots; the native agents with the glibc libraries they link (codex,
 * claude, codex-acp, copilot with its package unpacked read-only in the image); node (this machine's, with its libraries),
 * the Gemini CLI package for gemini and claude-agent-acp with its packages; an unprivileged user 1000.
 * Imported once (image-import.ts: under a lock, so runs starting together import it once), labelled, and
 * tagged by what goes in (image-fingerprint.ts: installed packages' files by their bytes, so fresh clones and
 * worktrees with the same node_modules share one image); a later run finds it without building anything. The run (its vitest
 * process) leases the tag until its teardown, so no other run prunes it meanwhile.
 */
export function ensureTestImage(options: LockOptions = {}): string {
  const stateDir = imagesStateDir()
  const owner = suiteOwner()
  const engine = { program: testEngine, env: engineEnv() }
  return ensureImage(testImageRecipe(stateDir), engine, {
    ...options,
    stateDir,
    lease: (tag) => leaseImage(stateDir, tag, owner),
  }).tag
}

/**
 * Removes this project's stale test images (image-prune.ts: tags of localhost/agent-gateway-test no live run
 * leases and none used for 3 hours, dangling images of the label; never one a container was made from), at
 * most once an hour: the listing costs a podman call a run with nothing to prune should not pay.
 */
export function pruneTestImages(): string[] {
  const stateDir = imagesStateDir()
  const stamp = path.join(stateDir, 'pruned')
  if (existsSync(stamp) && Date.now() - statSync(stamp).mtimeMs < 3600_000) return []
  writeFileSync(stamp, '')
  return pruneImages({ program: testEngine, env: engineEnv() }, testImageKind, stateDir)
}

export function testImageRecipe(stateDir: string): ImageRecipe {
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
  const libs = Object.values(natives).flatMap((binary) => sharedLibraries(binary, stateDir))

  const fingerprint = () =>
    `recipe-5\n${imageInputsFingerprint(
      [
        busybox,
        caCertificates,
        ...Object.values(natives),
        path.join(geminiPackage, 'package.json'),
        ...claudeAcpPackages.map((dir) => path.join(dir, 'package.json')),
        ...new Set(libs),
      ],
      projectRoot,
      stateDir,
    )}`

  const build = (root: string) => {
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
      env: {
        PATH: engineEnv().PATH ?? '',
        HOME: root,
        COPILOT_PKG_CACHE_HOME: path.join(root, copilotCache),
      },
      stdio: 'pipe',
    })
    const copilotAddons = findFiles(path.join(root, copilotCache), (f) => f.includes('/prebuilds/linux-'))
    for (const lib of new Set([...libs, ...copilotAddons.flatMap((addon) => sharedLibraries(addon))])) {
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
  }

  return {
    ...testImageKind,
    fingerprint,
    build,
    changes: [
      'ENV=PATH=/usr/local/bin:/bin',
      `ENV=COPILOT_PKG_CACHE_HOME=${copilotCache}`,
      // claude-agent-acp runs the image's Claude Code (its SDK's own 330 MB copy is not in the image)
      'ENV=CLAUDE_CODE_EXECUTABLE=/usr/local/bin/claude',
      'USER=1000:1000',
    ],
  }
}

function findFiles(dir: string, keep: (file: string) => boolean): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .filter(keep)
}
