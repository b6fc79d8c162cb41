import { z } from 'zod'
import { includeOnlyKeepingMarkers } from '../codex/command-markers.js'
import { configFilesSignature } from './config-files.js'

/** Asks codex `config/read` with `cwd` (a running app-server's, or a short-lived one: config-read-once.ts). */
export type ConfigRead = (cwd: string) => Promise<unknown>

/** The part of `config/read` the gateway reads: the effective `shell_environment_policy.include_only`. */
const environmentPolicy = z.looseObject({
  config: z.looseObject({
    shell_environment_policy: z.looseObject({ include_only: z.array(z.string()).nullish() }).nullish(),
  }),
})

interface Entry {
  signature: string
  value: Promise<string[] | undefined>
}

/** The include_only lists warned about (once per process, not per cwd). */
const warned = new Set<string>()

/** cwds remembered at most (the oldest is forgotten first). */
const defaultMaxEntries = 256

/**
 * The `include_only` a codex thread or process in a cwd must get so its commands keep the gateway's markers
 * (command-markers.ts): codex's effective one there (config.toml, profiles, `-c`, and a trusted project's
 * `.codex/config.toml`, which a start-time read without cwd never saw) with the markers' names added; undefined
 * when it keeps them anyway. Read once per cwd and read again when a file that decides it changed
 * (config-files.ts); concurrent asks for one cwd share one read. A read that fails is not kept: that ask gets
 * undefined (codex would then fail on the same config) and the next one reads again.
 */
export class IncludeOnlyReader {
  private readonly entries = new Map<string, Entry>()
  /** How many `config/read`s were sent (tests and measurements). */
  reads = 0

  constructor(
    private readonly read: ConfigRead,
    private readonly codexHome: string,
    private readonly maxEntries = defaultMaxEntries,
  ) {}

  async keepingMarkers(cwd: string): Promise<string[] | undefined> {
    const signature = await configFilesSignature(this.codexHome, cwd)
    const known = this.entries.get(cwd)
    if (known?.signature === signature) return known.value
    const entry: Entry = { signature, value: this.readNow(cwd) }
    this.remember(cwd, entry)
    return entry.value.catch(() => {
      if (this.entries.get(cwd) === entry) this.entries.delete(cwd)
      return undefined
    })
  }

  /** Forgets every cwd (the next ask reads again). */
  clear(): void {
    this.entries.clear()
  }

  private async readNow(cwd: string): Promise<string[] | undefined> {
    this.reads++
    const parsed = environmentPolicy.safeParse(await this.read(cwd))
    if (!parsed.success) throw new Error('codex answered config/read without a config')
    const includeOnly = parsed.data.config.shell_environment_policy?.include_only ?? []
    const keep = includeOnlyKeepingMarkers(includeOnly)
    if (keep) this.warnOnce(includeOnly)
    return keep
  }

  private remember(cwd: string, entry: Entry): void {
    this.entries.delete(cwd)
    this.entries.set(cwd, entry)
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break
      this.entries.delete(oldest)
    }
  }

  private warnOnce(includeOnly: string[]): void {
    const key = JSON.stringify(includeOnly)
    if (warned.has(key) || warned.size >= 32) return
    warned.add(key)
    process.emitWarning(
      `codex shell_environment_policy.include_only (${key}) would drop the gateway's process markers from the ` +
        'commands codex runs: threads and processes in the cwds it applies to get it with them added',
      { code: 'AGENT_GATEWAY_CODEX_INCLUDE_ONLY' },
    )
  }
}
