import type { AgentRegistry } from '../agents/registry.js'
import { inputImages, inputText, isSessionDriver, type TurnInput } from '../agents/session.js'
import { AppError } from '../protocol/errors.js'
import type { AgentEvent } from '../protocol/events.js'
import type { Session } from '../protocol/sessions.js'
import { checkEchoedInput } from './echoed-input.js'
import { checkImageFile, checkImageUrl } from './image-checks.js'
import { type StagingOptions, stageImages } from './staged-images.js'
import type { OnBusy } from './turn-queue.js'
import { resolveCwd } from './workspace.js'

/**
 * A session turn's images (`localImage` items), confined and staged as a run's `images` are (run-admission.ts,
 * staged-images.ts): checked when the turn is sent (a 400 then), copied privately as it starts, the copies removed
 * once it ended. A session in a container gets them in the image directory its container mounted
 * (session-image-dirs.ts), at the same path there. The turn's stored input and events keep each path as the client
 * gave it.
 */

/** An image path of a session's turn, resolved as a run's (relative to its cwd) and confined to the roots. */
const confined = (image: string, cwd: string, roots: readonly string[]) =>
  resolveCwd(image, roots, { allowFiles: true, what: 'image', base: cwd })

/**
 * An image URL the gateway passes on: an image inline as a data: URL. codex 0.171's `turn/start` refuses a remote
 * one ("remote image URLs are not supported; use an inline data URL instead"), so neither it nor the gateway
 * fetches anything: an http(s) URL is refused here, before the turn runs, rather than failing it.
 */
const imageUrl = /^data:image\//i

/**
 * Refuses (400) a turn whose images its session cannot take: its agent's capabilities lack `images`, its agent needs
 * text with them and the input has none (copilot, `imagesNeedText`), the input steers the running turn, a
 * `localImage` is not inside the workspace roots, an `image` URL goes to an agent that takes files alone or is not
 * a data:image/ URL, its input (images and text) does not fit the line an agent echoing it writes it back on
 * (echoed-input.ts). A session in a container takes both as one without.
 */
export function checkTurnImages(
  registry: AgentRegistry,
  session: Pick<Session, 'agent' | 'cwd'>,
  input: TurnInput,
  onBusy: OnBusy,
  roots: readonly string[],
  maxImageBytes: number,
): void {
  const images = inputImages(input)
  const urls = input.flatMap((part) => (part.type === 'image' ? [part.url] : []))
  if (!images.length && !urls.length) return
  const driver = registry.find(session.agent)
  if (driver && !driver.capabilities.images)
    throw new AppError(
      'invalid_request',
      `agent ${driver.id} does not support images; GET /v1/agents lists each agent's capabilities`,
      { agent: driver.id, capability: 'images' },
    )
  if (driver && isSessionDriver(driver) && driver.imagesNeedText && !inputText(input).trim())
    throw new AppError(
      'invalid_request',
      `agent ${driver.id} takes images with a prompt only: add a text item to the turn's input (${driver.id} runs no turn without one)`,
      { agent: driver.id },
    )
  if (onBusy === 'steer')
    throw new AppError(
      'invalid_request',
      'image input items cannot go with onBusy "steer": only a new turn takes images. Send them with onBusy "queue" or "reject"',
    )
  if (urls.length && driver && !(isSessionDriver(driver) && driver.imageUrls))
    throw new AppError(
      'invalid_request',
      `agent ${driver.id} takes images as files only: send a localImage item (a path inside the workspace) instead of an image URL`,
      { agent: driver.id },
    )
  for (const url of urls)
    if (!imageUrl.test(url))
      throw new AppError(
        'invalid_request',
        `image url "${url.slice(0, 100)}" is not a data:image/ URL: an image goes inline (data:image/png;base64,...) or as a localImage file inside the workspace; nothing fetches a remote URL (codex refuses one)`,
      )
  // each image is one by its first bytes, and not too large (image-checks.ts): a 400 naming its item
  for (const [i, part] of input.entries())
    if (part.type === 'localImage')
      checkImageFile(confined(part.path, session.cwd, roots), `input[${i}]`, part.path, maxImageBytes)
    else if (part.type === 'image') checkImageUrl(part.url, `input[${i}]`, maxImageBytes)
  if (driver && isSessionDriver(driver) && driver.echoesInput) checkEchoedInput(input, driver.id)
}

/** A turn's input as its agent gets it, and the removal of its images' copies. */
export interface StagedTurnInput {
  input: TurnInput
  /**
   * An event of the agent's as it is stored: each copy's path in it (codex's `userMessage` item names the
   * `localImage` it got) is the path the client gave.
   */
  shown(event: AgentEvent): AgentEvent
  dispose(): Promise<void>
}

/** `value` with every string that is a key of `paths` replaced by its value, the rest as it is. */
function swapped(value: unknown, paths: ReadonlyMap<string, string>): unknown {
  if (typeof value === 'string') return paths.get(value) ?? value
  if (Array.isArray(value)) return value.map((v) => swapped(v, paths))
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, swapped(v, paths)]))
  return value
}

/**
 * The turn's images copied, as it starts, into a directory of its own under DATA_DIR (stageImages: each read from
 * a descriptor checked to be a regular file inside the roots, so one replaced by a symlink out since the turn was
 * sent is refused), its `localImage` items pointing at the copies. For a session in a container (`staging`) the
 * copies are readable by the container's user, and made in `into` when given: the image directory its container
 * mounted (AgentSession.imageDir; a driver that starts a container per turn, copilot, mounts the copies' own).
 * Throws (an AppError) what is wrong.
 */
export async function stageTurnInput(
  input: TurnInput,
  cwd: string,
  roots: readonly string[],
  dataDir: string,
  turnId: string,
  staging: StagingOptions = {},
): Promise<StagedTurnInput> {
  const images = inputImages(input)
  if (!images.length) return { input, shown: (event) => event, dispose: async () => {} }
  const staged = await stageImages(
    images.map((image) => confined(image, cwd, roots)),
    roots,
    dataDir,
    turnId,
    { ...staging, given: images },
  )
  // the agent is given each copy where it sees it (a container's mount), and names it so
  const copies = staged.seen[Symbol.iterator]()
  const given = new Map(staged.seen.map((copy, i) => [copy, images[i]!]))
  return {
    input: input.map((part) => (part.type === 'localImage' ? { ...part, path: copies.next().value! } : part)),
    shown: (event) => swapped(event, given) as AgentEvent,
    dispose: () => staged.dispose(),
  }
}
