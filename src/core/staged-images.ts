import {
  closeSync,
  constants,
  createReadStream,
  createWriteStream,
  fstatSync,
  openSync,
  realpathSync,
  statSync,
} from 'node:fs'
import { chmod, lstat, mkdir, mkdtemp, realpath, rm } from 'node:fs/promises'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import {
  makeOwnedDir,
  type OwnedDirKind,
  removeOwnedDirAsync,
  sweepOwnedDirs,
} from '../process/owned-dirs.js'
import { AppError } from '../protocol/errors.js'
import { defaultMaxImageBytes, type ImageType } from '../util/image-type.js'
import { checkedImage, imageOfDescriptor } from './image-checks.js'
import { insideRoots } from './workspace.js'

/** A run's images as the agent gets them: private copies, removed once the run ended. */
export interface StagedImages {
  paths: string[]
  /** The copies' paths as the agent sees them (StagingOptions.seenAt; else `paths`). */
  seen: string[]
  dispose(): Promise<void>
}

/**
 * The run-image directories: `DATA_DIR/run-images/<run>-<random>` (and a container session's image directory,
 * `<session>-<random>`: session-image-dirs.ts), each with its owner file beside it
 * (`<dir>.owner`, owned-dirs.ts: a container mounts the directory, so the agent sees the images alone). A
 * starting gateway removes those a killed gateway left (sweepRunImages, from ops/leftover-sweep.ts).
 */
export const runImageDirs: OwnedDirKind = { prefix: '', owner: 'beside' }

export const runImagesIn = (dataDir: string) => path.join(dataDir, 'run-images')

/** Where a run's or turn's copies go (stageImages), and who reads them. */
export interface StagingOptions {
  /**
   * A container session's image directory (session-image-dirs.ts): the copies' directory is made in it, with no
   * owner file of its own (the session directory's covers it). Implies `container`.
   */
  into?: string
  /**
   * Where the agent sees `into` (its container mounts it there, whatever DATA_DIR's path holds): the copies' paths
   * the agent is given (StagedImages.seen) are there.
   */
  seenAt?: string
  /**
   * The agent runs in a container, whose user may not be the gateway's (CONTAINER_USER; 1000 for a gateway that
   * runs as root): the directory is mode 0711 and the copies 0644, so that user reads them through the mount.
   * None lists the directory, and on the host `run-images` (0700) hides it.
   */
  container?: boolean
  /** The largest image, in bytes (MAX_IMAGE_BYTES; default its default): a larger one is refused as it is copied. */
  maxImageBytes?: number
  /** Each image as the client named it (a turn's `localImage` paths), for a refusal's message; else its path. */
  given?: readonly string[]
}

/**
 * Copies a run's images, when it starts, into a directory of its own under DATA_DIR (mode 0700), and gives the
 * agent those copies (see StagingOptions for a container's). Each image is opened once, without following a
 * symlink in its last component (O_NOFOLLOW) and without blocking on a FIFO (O_NONBLOCK); the file opened must be
 * a regular file and an image (PNG, JPEG, GIF, WebP by its first bytes, at most MAX_IMAGE_BYTES: image-checks.ts),
 * its copy named by that type (copyName), and its real path must be inside the workspace roots and be that same file (device and inode),
 * so an intermediate directory swapped for a symlink is caught too. The copy is read from that descriptor: a
 * symlink swapped in after admission, or after this check, cannot make the agent read a file outside the
 * workspace.
 */
export async function stageImages(
  images: readonly string[],
  roots: readonly string[],
  dataDir: string,
  runId: string,
  {
    into,
    seenAt,
    container = into !== undefined,
    given,
    maxImageBytes = defaultMaxImageBytes,
  }: StagingOptions = {},
): Promise<StagedImages> {
  let dir: string
  let dispose: () => Promise<void>
  if (into) {
    const own = await mkdtemp(path.join(into, `${runId}-`))
    dir = own
    dispose = () => rm(own, { recursive: true, force: true })
  } else {
    const base = runImagesIn(dataDir)
    await mkdir(base, { recursive: true, mode: 0o700 })
    const own = makeOwnedDir(runImageDirs, base, runId)
    dir = own
    dispose = () => removeOwnedDirAsync(runImageDirs, own)
  }
  try {
    if (container) await chmod(dir, 0o711)
    const paths: string[] = []
    for (const [i, image] of images.entries()) {
      const fd = openConfined(image, roots)
      let type: ImageType
      try {
        type = checkedCopy(fd, given?.[i] ?? image, maxImageBytes)
      } catch (err) {
        closeSync(fd)
        throw err
      }
      const target = path.join(dir, copyName(i, image, type))
      // the read stream closes the descriptor when it ends or fails; it reads from the start (`start`: the
      // check read the head without moving the file's offset, but be explicit)
      await pipeline(
        createReadStream('', { fd, autoClose: true, start: 0 }),
        createWriteStream(target, { flags: 'wx', mode: 0o600 }),
      )
      // chmod, not the mode above: a umask would take from that one
      if (container) await chmod(target, 0o644)
      paths.push(target)
    }
    const seen = into && seenAt ? paths.map((p) => path.posix.join(seenAt, path.relative(into, p))) : paths
    return { paths, seen, dispose }
  } catch (err) {
    await dispose()
    throw err
  }
}

/**
 * The copy's name: its index, the image's name without its extension, and the extension of its type by its first
 * bytes (`0-shot.png` for a PNG named `shot.jpg` or `shot.dat`). copilot goes by a file's extension: it dropped a
 * non-image named `.png` and refused a PNG named `.dat`; named by what it is, each agent gets it as what it is. No
 * comma in it: codex splits an `--image` value at commas (one image would become two).
 */
export function copyName(index: number, image: string, type: ImageType): string {
  const base = path.basename(image)
  const stem = base.slice(0, base.length - path.extname(base).length) || base
  return `${index}-${stem.replaceAll(',', '_')}${type.extension}`
}

/**
 * The opened image's type, checked again as its copy is made (image-checks.ts checked it when the turn or run was
 * sent; the file may have changed since): a refusal (the turn or run fails) when it is no image or too large.
 */
function checkedCopy(fd: number, shown: string, limit: number): ImageType {
  const { type, size } = imageOfDescriptor(fd)
  return checkedImage(type, size, limit, undefined, shown)
}

/** The image's descriptor, once it is known to be a regular file inside the roots; else the one refusal. */
function openConfined(image: string, roots: readonly string[]): number {
  const refused = () =>
    new AppError(
      'invalid_request',
      `image "${image}" is not a regular file inside the workspace roots (it may have been replaced by a symlink since the run was accepted)`,
      { image },
    )
  let fd: number
  try {
    fd = openSync(image, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch {
    throw refused()
  }
  try {
    const opened = fstatSync(fd)
    if (!opened.isFile()) throw refused()
    const real = realpathSync.native(image)
    const named = statSync(real)
    if (!insideRoots(real, roots) || named.dev !== opened.dev || named.ino !== opened.ino) throw refused()
    return fd
  } catch (err) {
    closeSync(fd)
    throw err instanceof AppError ? err : refused()
  }
}

/**
 * Removes the run-image copies that killed gateways of this user left in `DATA_DIR/run-images`, and nothing
 * else: only when `run-images` is a real directory of this user (not a link) right inside the data dir, and
 * there only what owned-dirs.ts proves stale (a real directory with an owner file whose maker is gone).
 * Resolves with how many went.
 */
export async function sweepRunImages(dataDir: string, signal?: AbortSignal): Promise<number> {
  const base = runImagesIn(dataDir)
  try {
    const info = await lstat(base)
    if (!info.isDirectory() || info.uid !== process.getuid?.()) return 0
    // a data dir reached through a link is fine; run-images must be in it, wherever it really is
    if ((await realpath(base)) !== path.join(await realpath(dataDir), 'run-images')) return 0
  } catch {
    return 0 // no run ever had images here
  }
  return sweepOwnedDirs(runImageDirs, base, signal)
}
