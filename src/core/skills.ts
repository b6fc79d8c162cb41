import { realpathSync } from 'node:fs'
import path from 'node:path'
import { z } from 'zod'
import type { Config } from '../config/load.js'
import { AppError } from '../protocol/errors.js'
import { resolveCwd } from './workspace.js'

/** What the skills routes need from the sessions core: a pass-through call to the agent's app-server. */
export interface SkillsBackend {
  call(agentId: string, method: string, params: unknown): Promise<unknown>
}

const listAnswer = z.looseObject({
  data: z.array(z.looseObject({ skills: z.array(z.looseObject({ path: z.string() })) })),
})

/**
 * codex skills (seed 003's /api/skills/*) with every path confined. `skills/list` scans only directories inside
 * the workspace roots; `skills/config/write` persists a path into codex's config.toml, so it accepts only a skill
 * codex itself lists for the workspace roots (its own bundled and user skills included), never an arbitrary path.
 */
export class Skills {
  constructor(
    private readonly backend: SkillsBackend,
    private readonly config: Config,
    private readonly agent = 'codex',
  ) {}

  /** `cwds` relative to WORKSPACE_DIR or absolute; each must resolve inside a root (default: WORKSPACE_DIR). */
  list(cwds: readonly string[] | undefined, forceReload?: boolean): Promise<unknown> {
    const confined = (cwds?.length ? cwds : [undefined]).map((c) => resolveCwd(c, this.config.workspaceRoots))
    return this.backend.call(this.agent, 'skills/list', {
      cwds: confined,
      ...(forceReload !== undefined ? { forceReload } : {}),
    })
  }

  async setEnabled(skillPath: string, enabled: boolean): Promise<unknown> {
    if (!path.isAbsolute(skillPath))
      throw new AppError(
        'invalid_request',
        `skill path "${skillPath}" must be absolute (a path skills/list returned)`,
      )
    const known = await this.knownSkillPaths()
    const wanted = canonical(skillPath)
    if (!known.has(wanted))
      throw new AppError(
        'invalid_request',
        `"${skillPath}" is not a skill codex lists for the workspace roots (${this.config.workspaceRoots.join(', ')}); ` +
          'only paths returned by /api/skills/list may be written into codex config',
        { path: skillPath },
      )
    return this.backend.call(this.agent, 'skills/config/write', { path: wanted, enabled })
  }

  private async knownSkillPaths(): Promise<Set<string>> {
    const roots = this.config.workspaceRoots.flatMap((r) => {
      try {
        return [resolveCwd(r, this.config.workspaceRoots)]
      } catch {
        return []
      }
    })
    const parsed = listAnswer.safeParse(await this.backend.call(this.agent, 'skills/list', { cwds: roots }))
    if (!parsed.success) throw new AppError('agent_failed', 'codex answered skills/list with no skill list')
    return new Set(parsed.data.data.flatMap((entry) => entry.skills.map((s) => canonical(s.path))))
  }
}

function canonical(p: string): string {
  try {
    return realpathSync(p)
  } catch {
    return path.resolve(p)
  }
}
