import { constants } from 'node:fs'
import { access, copyFile, readdir, realpath } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

/** Claude Code's home as the gateway gives it to its agents: CLAUDE_CONFIG_DIR, else `<HOME>/.claude`. */
export function claudeHome(serverEnv: NodeJS.ProcessEnv): string {
  return serverEnv.CLAUDE_CONFIG_DIR ?? path.join(serverEnv.HOME ?? os.homedir(), '.claude')
}

/** Claude Code cuts a project directory's name at this length and appends a hash of the path. */
const longName = 200

/**
 * The names Claude Code may have given the project directory of `cwd`: the path with every character but ASCII
 * letters and digits made `-` (of the path as given and of its real path: Claude Code resolves it); a name longer
 * than 200 characters is cut and gets a hash suffix, which the CLI and the SDK compute differently, so such a name
 * is matched by its cut prefix.
 */
async function projectNames(cwd: string): Promise<{ exact: string[]; prefixes: string[] }> {
  // gone: the path as given
  const real = await realpath(cwd).catch(() => cwd)
  const exact: string[] = []
  const prefixes: string[] = []
  for (const dir of new Set([cwd, real])) {
    const name = dir.replace(/[^a-zA-Z0-9]/g, '-')
    if (name.length <= longName) exact.push(name)
    else prefixes.push(`${name.slice(0, longName)}-`)
  }
  return { exact, prefixes }
}

/** An id is a UUID, never a path. */
const isId = (id: string) => /^[0-9a-f-]{36}$/i.test(id)

/**
 * Where Claude Code keeps its conversation `conversationId` of a session in `cwd`:
 * `<claude home>/projects/<cwd's project directory>/<id>.jsonl`; null when it is not on disk.
 */
async function conversationFile(
  serverEnv: NodeJS.ProcessEnv,
  cwd: string,
  conversationId: string,
): Promise<string | null> {
  if (!isId(conversationId)) return null
  const projects = path.join(claudeHome(serverEnv), 'projects')
  const { exact, prefixes } = await projectNames(cwd)
  const found = async (dir: string) => {
    const file = path.join(projects, dir, `${conversationId}.jsonl`)
    return access(file).then(
      () => file,
      () => null,
    )
  }
  for (const dir of exact) {
    const file = await found(dir)
    if (file) return file
  }
  if (prefixes.length === 0) return null
  const dirs = await readdir(projects).catch(() => [] as string[])
  for (const dir of dirs) {
    const file = prefixes.some((prefix) => dir.startsWith(prefix)) ? await found(dir) : null
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

/**
 * Copies Claude Code's conversation `from` (of a session in `cwd`) to a new conversation `to` beside it, as it is
 * now: a fork holds its parent's conversation at the fork point, whatever the parent does later (`claude --resume
 * <to>` continues the copy; the entries copied keep naming `from`, those Claude adds name `to`). False when `from`
 * is not on disk (never saved, or gone); never overwrites a conversation `to`.
 */
export async function copyClaudeConversation(
  serverEnv: NodeJS.ProcessEnv,
  cwd: string,
  from: string,
  to: string,
): Promise<boolean> {
  const file = isId(to) ? await conversationFile(serverEnv, cwd, from) : null
  if (!file) return false
  await copyFile(file, path.join(path.dirname(file), `${to}.jsonl`), constants.COPYFILE_EXCL)
  return true
}
