import { realpath } from 'node:fs/promises'

/**
 * Where the file open as `fd` in this process is now (its real path, as /proc/self/fd tells it), or undefined
 * where the system cannot say: a check made after the open, which a path swapped meanwhile cannot fool.
 */
export async function openFilePath(fd: number): Promise<string | undefined> {
  return realpath(`/proc/self/fd/${fd}`).catch(() => undefined)
}
