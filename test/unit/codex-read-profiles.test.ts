import path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  codexOwnPath,
  codexSandboxArgs,
  deniedReadPath,
  readProfileOverrides,
  sessionProfile,
  sessionProfileOverrides,
} from '../../src/agents/codex/read-profiles.js'
import { confinedCodexArgs } from '../../src/agents/codex/run-sandbox-args.js'
import { resolveCodexBinary } from '../../src/agents/codex-binary.js'

const on = { CODEX_CONFINE_READS: true }
const off = { CODEX_CONFINE_READS: false }
const ro = '-c default_permissions="agent-gateway-read-only"'
const ww = '-c default_permissions="agent-gateway-workspace-write"'

describe('codex read-confining profiles', () => {
  it('exec selects a profile for read-only and workspace-write, --sandbox otherwise', () => {
    expect(codexSandboxArgs(on, 'read-only').join(' ')).toBe(ro)
    expect(codexSandboxArgs(on, 'workspace-write').join(' ')).toBe(ww)
    expect(codexSandboxArgs(on, 'danger-full-access')).toEqual(['--sandbox', 'danger-full-access'])
    expect(codexSandboxArgs(off, 'read-only')).toEqual(['--sandbox', 'read-only'])
  })

  it('the profiles grant :minimal, the workspace roots and the pinned codex package directory only, and deny a read', () => {
    const binary = resolveCodexBinary()!
    const own = codexOwnPath(binary)
    // the platform package's vendor/<target>: bin/codex and codex's helpers, nothing of the gateway
    expect(path.relative(own, binary)).toBe(path.join('bin', 'codex'))
    expect(path.basename(path.dirname(own))).toBe('vendor')
    const args = readProfileOverrides({ ...on, CODEX_PATH: undefined }, binary)
    // a denied read: codex runs no command of the profile outside its sandbox (no unsandboxed retry)
    const denied = `${JSON.stringify(deniedReadPath)}="none"`
    expect(args).toEqual([
      '-c',
      'default_permissions="agent-gateway-read-only"',
      '-c',
      `permissions.agent-gateway-read-only.filesystem={":minimal"="read",":workspace_roots"="read",${JSON.stringify(own)}="read",${denied}}`,
      '-c',
      `permissions.agent-gateway-workspace-write.filesystem={":minimal"="read",":workspace_roots"="write",${JSON.stringify(own)}="read",${denied}}`,
    ])
    expect(readProfileOverrides({ ...off, CODEX_PATH: undefined }, binary)).toEqual([])
  })

  it("codex-acp's profiles: reads confined, else all read with the denied read, none when danger-full-access is allowed", () => {
    const binary = resolveCodexBinary()!
    const denied = `${JSON.stringify(deniedReadPath)}="none"`
    const held = { ...off, ALLOW_DANGER_FULL_ACCESS: false, CODEX_PATH: undefined }
    // the same sandbox as --sandbox (every file read, the workspace written or not), never run outside it
    expect(sessionProfileOverrides(held, binary)).toEqual([
      '-c',
      'default_permissions="agent-gateway-read-only"',
      '-c',
      `permissions.agent-gateway-read-only.filesystem={":root"="read",":workspace_roots"="read",${denied}}`,
      '-c',
      `permissions.agent-gateway-workspace-write.filesystem={":root"="read",":workspace_roots"="write",${denied}}`,
    ])
    expect(sessionProfile(held, 'read-only')).toBe('agent-gateway-read-only')
    expect(sessionProfile(held, 'workspace-write')).toBe('agent-gateway-workspace-write')
    expect(sessionProfile(held, 'danger-full-access')).toBeUndefined()
    const confined = { ...on, ALLOW_DANGER_FULL_ACCESS: false, CODEX_PATH: undefined }
    expect(sessionProfileOverrides(confined, binary)).toEqual(readProfileOverrides(confined, binary))
    // the operator allows danger-full-access: the model may ask for an unsandboxed run, so --sandbox modes
    const allowed = { ...off, ALLOW_DANGER_FULL_ACCESS: true, CODEX_PATH: undefined }
    expect(sessionProfileOverrides(allowed, binary)).toEqual([])
    expect(sessionProfile(allowed, 'read-only')).toBeUndefined()
    expect(sessionProfile({ ...on, ALLOW_DANGER_FULL_ACCESS: true }, 'read-only')).toBe(
      'agent-gateway-read-only',
    )
  })

  it('a binary outside the pinned layout is granted alone, not its directory', () => {
    expect(codexOwnPath('/opt/tools/codex')).toBe('/opt/tools/codex')
  })

  it('POST /run: every spelling of a confined sandbox becomes its profile; values of other options are left', () => {
    const run = (...args: string[]) => confinedCodexArgs(on, args).join(' ')
    expect(run('exec', '-s', 'read-only', 'x')).toBe(`exec ${ro} x`)
    expect(run('exec', '--sandbox', 'workspace-write', 'x')).toBe(`exec ${ww} x`)
    expect(run('exec', '--sandbox=read-only', 'x')).toBe(`exec ${ro} x`)
    expect(run('exec', '-sworkspace-write', 'x')).toBe(`exec ${ww} x`)
    expect(run('exec', '-s=read-only', 'x')).toBe(`exec ${ro} x`)
    expect(run('exec', '-s', 'danger-full-access', 'x')).toBe('exec -s danger-full-access x')
    // a model named "-s", a prompt after `--`
    expect(run('exec', '-m', '-s', 'read-only')).toBe('exec -m -s read-only')
    expect(run('exec', '--', '-s', 'read-only')).toBe('exec -- -s read-only')
    expect(run('exec', 'x')).toBe('exec x')
    expect(confinedCodexArgs(off, ['exec', '-s', 'read-only'])).toEqual(['exec', '-s', 'read-only'])
  })
})
