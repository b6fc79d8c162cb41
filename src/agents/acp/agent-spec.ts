import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { resolveCopilotBinary } from '../copilot/binary.js'

/**
 * Which ACP agents the gateway knows: presets resolved from the pinned packages (`codex-acp`, `claude-agent-acp`,
 * Gemini CLI in its ACP mode `gemini`; GitHub Copilot CLI's, `copilot`, only when ACP_AGENTS names it), plus the
 * operator's own in ACP_AGENTS (`name=command args,...`; a name that equals a preset replaces its command,
 * keeping its provider wiring and flags: `gemini=/usr/local/bin/gemini` gets `--acp` and the rest from launch.ts).
 * The driver id is `acp:<name>`.
 */
export type AcpPresetName = 'codex-acp' | 'claude-agent-acp' | 'gemini' | 'copilot'

/** The presets every gateway lists. */
export const acpPresetNames: readonly AcpPresetName[] = ['codex-acp', 'claude-agent-acp', 'gemini']

/**
 * Presets listed only when ACP_AGENTS names them (the bare name, `copilot`, or `copilot=command`): `copilot --acp`
 * (1.0.102) runs the workspace's `.github/hooks/*.json` hooks at session start, prompt and tool use, commands that
 * no approval covers; the gateway starts it with copilot's managed lockdown of hooks (copilot-lockdown.ts), which
 * rests on bubblewrap and on copilot's managed-settings file, and is not applied in containers (docs/SECURITY.md,
 * Not defended).
 */
export const optInAcpPresets: readonly AcpPresetName[] = ['copilot']

export interface AcpAgentSpec {
  name: string
  /** Absolute path, or a name looked up on PATH; null when a preset's package is not installed. */
  command: string | null
  args: string[]
  /** How to point the agent at its provider (presets only; `custom` gets the base env). */
  flavor: AcpPresetName | 'custom'
  /** The installed package version of a preset. */
  version: string | null
}

const require = createRequire(import.meta.url)

function packageDir(name: string): string | null {
  try {
    return path.dirname(require.resolve(`${name}/package.json`))
  } catch {
    return null
  }
}

function packageVersion(dir: string | null): string | null {
  if (!dir) return null
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: unknown }
  return typeof pkg.version === 'string' ? pkg.version : null
}

/** codex-acp's native binary (skips its Node wrapper), else the wrapper. */
function codexAcpPreset(): AcpAgentSpec {
  const wrapper = packageDir('@zed-industries/codex-acp')
  const nativeDir = packageDir(`@zed-industries/codex-acp-${process.platform}-${process.arch}`)
  const exe = process.platform === 'win32' ? 'codex-acp.exe' : 'codex-acp'
  const native = nativeDir ? path.join(nativeDir, 'bin', exe) : null
  const command =
    native && existsSync(native) ? native : wrapper ? path.join(wrapper, 'bin', 'codex-acp.js') : null
  return { name: 'codex-acp', command, args: [], flavor: 'codex-acp', version: packageVersion(wrapper) }
}

function claudeAgentAcpPreset(): AcpAgentSpec {
  const dir = packageDir('@agentclientprotocol/claude-agent-acp')
  return {
    name: 'claude-agent-acp',
    command: dir ? path.join(dir, 'dist', 'index.js') : null,
    args: [],
    flavor: 'claude-agent-acp',
    version: packageVersion(dir),
  }
}

/** Gemini CLI's bundle (run with node, `--acp` added by launch.ts). */
function geminiPreset(): AcpAgentSpec {
  const dir = packageDir('@google/gemini-cli')
  const bundle = dir ? path.join(dir, 'bundle', 'gemini.js') : null
  return {
    name: 'gemini',
    command: bundle && existsSync(bundle) ? bundle : null,
    args: [],
    flavor: 'gemini',
    version: packageVersion(dir),
  }
}

/** copilot's native binary (as the copilot driver finds it), `--acp` added by launch.ts. */
function copilotPreset(): AcpAgentSpec {
  return {
    name: 'copilot',
    command: resolveCopilotBinary(),
    args: [],
    flavor: 'copilot',
    version: packageVersion(packageDir('@github/copilot')),
  }
}

export function acpPreset(name: AcpPresetName): AcpAgentSpec {
  switch (name) {
    case 'codex-acp':
      return codexAcpPreset()
    case 'claude-agent-acp':
      return claudeAgentAcpPreset()
    case 'gemini':
      return geminiPreset()
    case 'copilot':
      return copilotPreset()
  }
}

/**
 * `name=command args,...` (args split on whitespace), or the bare name of an opt-in preset (`copilot`). Throws on
 * any other entry without a name or command.
 */
export function parseAcpAgents(value: string | undefined): AcpAgentSpec[] {
  const specs: AcpAgentSpec[] = []
  for (const entry of (value ?? '').split(',')) {
    if (!entry.trim()) continue
    const optIn = optInAcpPresets.find((preset) => preset === entry.trim())
    if (optIn) {
      specs.push(acpPreset(optIn))
      continue
    }
    const eq = entry.indexOf('=')
    const name = entry.slice(0, eq).trim()
    const [command, ...args] = entry
      .slice(eq + 1)
      .trim()
      .split(/\s+/)
      .filter(Boolean)
    if (eq < 1 || !/^[A-Za-z0-9._-]+$/.test(name) || !command)
      throw new Error(`ACP_AGENTS: "${entry.trim()}" is not name=command [args]`)
    specs.push({ name, command, args, flavor: 'custom', version: null })
  }
  return specs
}

/** The presets and the configured agents, by name (configured ones win). */
export function acpAgentSpecs(acpAgents: string | undefined): AcpAgentSpec[] {
  const byName = new Map<string, AcpAgentSpec>()
  for (const preset of acpPresetNames) byName.set(preset, acpPreset(preset))
  for (const spec of parseAcpAgents(acpAgents)) {
    const preset = byName.get(spec.name) ?? optInAcpPresets.find((p) => p === spec.name)
    const flavor = typeof preset === 'string' ? preset : preset?.flavor
    byName.set(spec.name, flavor ? { ...spec, flavor } : spec)
  }
  return [...byName.values()]
}
