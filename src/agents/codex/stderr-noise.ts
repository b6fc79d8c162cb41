/**
 * codex warns on every start when it cannot put its helper binaries on PATH (e.g. CODEX_HOME under /tmp).
 * It is about codex's own setup, not the task, so it stays out of run output and error messages. stderr
 * arrives in chunks and the warning may be split after "aliases: ", so either half is dropped on its own.
 */
const helperBinaryWarning =
  /^(?:WARNING: proceeding, even though we could not create PATH aliases:|Refusing to create helper binaries under).*(?:\r?\n|$)/gm

/** stderr text without codex's helper-binary warnings. */
export function dropCodexStartupNoise(text: string): string {
  return text.replace(helperBinaryWarning, '')
}
