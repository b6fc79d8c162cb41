import { access, readdir, realpath } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

/** Claude Code's home as the gateway gives it to its agents: CLAUDE_CONFIG_DIR, else `<HOME>/.claude`. */
export function claudeHome(serverEnv: NodeJS.ProcessEnv): string {
  return serverEnv.CLAUDE_CONFIG_DIR ?? path.join(serverEnv.HOME ?? os.homedir(), '.claude')
}

/**
 * The names Claude Code gives the project directory of `cwd`, first looked at: the path with every character but
 * ASCII letters and digits made `-` (of the path as given and of its real path: Claude Code resolves it). A name
 * longer than 200 characters is cut and gets a hash suffix (which the CLI and the SDK compute differently), and
 * a Claude Code may name it by rules of its own: every other project directory is looked in after these.
 */
async function projectNames(cwd: string): Promise<string[]> {
  // gone: the path as given
  const real = await realpath(cwd).catch(() => cwd)
  return [...new Set([cwd, real])].map((dir) => dir.replace(/[^a-zA-Z0-9]/g, '-'))
}

/** An id is a UUID, never a path. */
export const isId = (id: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)

/**
 * Where Claude Code keeps its conversation `conversationId` of a session in `cwd`:
 * `<claude home>/projects/<a project directory>/<id>.jsonl`, that of the cwd looked in first (an id is a UUID:
 * unique across projects); null when it is not on disk.
 */
export async function conversationFile(
  serverEnv: NodeJS.ProcessEnv,
  cwd: string,
  conversationId: string,
): Promise<string | null> {
  if (!isId(conversationId)) return null
  const projects = path.join(claudeHome(serverEnv), 'projects')
  const found = async (dir: string) => {
    const file = path.join(projects, dir, `${conversationId}.jsonl`)
    return access(file).then(
      () => file,
      () => null,
    )
  }
  const first = await projectNames(cwd)
  for (const dir of first) {
    const file = await found(dir)
    if (file) return file
  }
  const dirs = await readdir(projects, { withFileTypes: true }).catch(() => [])
  for (const dir of dirs) {
    const file = dir.isDirectory() && !first.includes(dir.name) ? await found(dir.name) : null
    if (file) return file
  }
  return null
}

/**
 * Whether Claude Code's conversation `conversationId` of a session in `cwd` is on disk. claude-agent-acp answers
 * a `session/load` it cannot do with the same error whether the conversation is gone or the Claude Code it started
 * to resume it died (`Resource not found`, or "Claude Code process exited with code 1"): the file tells them apart.
 */
export async function claudeConversationExists(
  serverEnv: NodeJS.ProcessEnv,
  cwd: string,
  conversationId: string,
): Promise<boolean> {
  return (await conversationFile(serverEnv, cwd, conversationId)) !== null
}
