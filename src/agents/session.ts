import type { AgentEvent } from '../protocol/events.js'
import type {
  AgentApprovalPolicy,
  ApprovalDecision,
  ApprovalKind,
  ApprovalPolicy,
  SandboxMode,
} from '../protocol/policies.js'
import type { AgentDriver } from './driver.js'
import type { Placement } from './placement.js'

/**
 * Persistent sessions (DESIGN.md section 2: `openSession`): a session is the agent's own thread. Drivers that
 * support them implement SessionDriver; the core (SessionManager) stores and streams what they yield.
 */
export type { ApprovalDecision, ApprovalPolicy }

export interface SessionRequest extends Placement {
  /** Absolute and already confined to a workspace root. */
  cwd: string
  model?: string
  sandbox?: SandboxMode
  approvalPolicy?: ApprovalPolicy
  /**
   * Without `approvalPolicy`: the policy the agent opened the session with (AgentSession.agentApprovalPolicy, kept
   * in the session), to name again when it is reopened in a new agent process.
   */
  agentApprovalPolicy?: AgentApprovalPolicy
  /**
   * A stored session reopened (resumeSession): what its `accept_for_session` answers allowed so far, as the driver
   * handed it to SessionHooks.allowedForSession (kept in the session: Session.allowedForSession). Never given to a
   * new session or a fork.
   */
  allowedForSession?: readonly string[]
  /**
   * A stored session reopened (resumeSession) that has a history its agent should find: it ran a turn, or it is a
   * fork (its parent's). Without it, a resume that finds nothing may start anew silently (nothing was lost).
   */
  hasHistory?: boolean
  /**
   * A fork reopened (resumeSession) that never ran a turn: the agent session id whose history holds the fork's
   * (its parent's, or up its fork chain the one whose fork point holds a turn of that one's own) and `before`, when
   * the first turn of that one the fork does not hold started (an ISO time; absent: all of its history):
   * core/held-history.ts forkSource. For a driver whose fork is a copy of its parent's history made when the fork
   * is, which the fork may not have (claude: a fork stored before the gateway made it, or whose copy is gone).
   */
  forkOf?: { agentSessionId: string; before?: string }
  /**
   * A session in a container (`isolation`): makes the private directory its turns' images are copied into
   * (core/session-image-dirs.ts). A driver whose agent lives in one container through the session's turns (codex)
   * makes it as that container starts, mounts it there read-only, gives its path as the session's `imageDir` (and
   * its forks', which share the container) and removes it once the container ended. A driver that starts a
   * container per turn (copilot) mounts each turn's copies instead (placement.ts placedImages) and never calls it.
   */
  imageDir?: () => SessionImageDir
}

/**
 * A container session's image directory (SessionRequest.imageDir), on the host; its container mounts it at a fixed
 * path (placement.ts containerImages) and the agent is given the copies' paths there.
 */
export interface SessionImageDir {
  readonly path: string
  /** Removes it with what is in it (once its container ended). */
  remove(): Promise<void>
}

/**
 * A turn's input items: text, and images (`localImage`: a path the core confined to the workspace and, by the time
 * a driver gets it, a private copy of the image: core/turn-images.ts; `image`: a data:image/ URL, the image
 * inline: nothing is fetched). Only a driver with capabilities.images is given an image, and only one with
 * `imageUrls` an `image`.
 */
export type TurnInputItem =
  | { type: 'text'; text: string }
  | { type: 'localImage'; path: string }
  | { type: 'image'; url: string }
export type TurnInput = TurnInputItem[]

/** The text of a turn's input, its items joined by newlines (what an agent taking a prompt string gets). */
export const inputText = (input: TurnInput): string =>
  input.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('\n')

/** The image paths of a turn's input, in order. */
export const inputImages = (input: TurnInput): string[] =>
  input.flatMap((part) => (part.type === 'localImage' ? [part.path] : []))

/** What one turn asks for beyond its input; each absent setting is the session's own. */
export interface TurnOptions {
  /**
   * The approval policy this turn runs with (only a driver with `approvalPolicyPerTurn` is given one; the core
   * refuses it for the others: core/turn-options.ts). The turns after it without one run with the session's.
   */
  approvalPolicy?: ApprovalPolicy
  /**
   * A JSON Schema the agent's final message of this turn is held to (only a driver whose capabilities have
   * `turnOutputSchema` is given one; the core refuses it for the others: core/turn-options.ts). Codex:
   * `turn/start`'s `outputSchema`, for that turn alone. The gateway does not check the answer against it: the agent's answer is what it gave.
   */
  outputSchema?: Record<string, unknown>
}

/** What the agent asks permission for; the core turns it into a stored approval and an event. */
export interface ApprovalAsk {
  kind: ApprovalKind
  command?: string
  cwd?: string
  changes?: { path: string; kind: string }[]
  reason?: string
  /** The tool's input as the agent gave it (ACP `rawInput`): what a driver keys its own memory of answers on; not shown. */
  input?: unknown
  /** The tool's name as the agent gave it (claude-agent-acp: Claude Code's): with `input`, the exact call; not shown. */
  tool?: string
  /** The decisions this request accepts. */
  options: ApprovalDecision[]
  turnId?: string
  itemId?: string
}

export interface SessionHooks {
  /** Asked for every approval request of the agent; resolves with the decision to send back. */
  requestApproval(ask: ApprovalAsk, signal: AbortSignal): Promise<ApprovalDecision>
  /**
   * For a driver that keeps what `accept_for_session` allowed itself (claude: `--allowedTools` rules): all of it
   * so far, each time it grows; resolves once it is stored with the session, which gives it back when the session
   * is reopened (SessionRequest.allowedForSession) after a restart, an idle unload or a takeover.
   */
  allowedForSession?(rules: readonly string[]): Promise<void>
}

/** What a driver knows of a steer its agent accepted (AgentSession.steer). */
export interface SteerReceipt {
  /**
   * Resolves with true once the agent put the input into the turn's conversation, with false when the turn ended
   * without it (the core then withdraws the steer, or makes it the next turn: turn-queue.ts `settleSteers`).
   */
  taken: Promise<boolean>
}

export interface AgentSession {
  /**
   * The agent's own id for this session (codex: the thread id); stored, and used to resume. A CLI that names
   * its session only when the first turn ran may change it then: the manager stores it after every turn.
   */
  readonly agentSessionId: string
  /**
   * The approval policy the agent runs this session with when neither the session nor a turn names one, as the
   * agent reported it when it opened the session (codex: `thread/start`'s answer); absent: not reported. The
   * manager keeps it in the session and gives it back (SessionRequest.agentApprovalPolicy) when it reopens it.
   */
  readonly agentApprovalPolicy?: AgentApprovalPolicy
  /**
   * The directory (SessionRequest.imageDir's) the core copies each turn's images into, in a directory of the turn's
   * own: one its agent's container has mounted. Absent: the copies go where a run's do (DATA_DIR/run-images).
   */
  readonly imageDir?: string
  /**
   * Where the agent sees imageDir (its container mounts it there: placement.ts containerImages); absent: at its own
   * path. The core gives the agent each copy's path there, and maps it back in the agent's events.
   */
  readonly imageDirSeenAt?: string
  /**
   * One turn. Yields `turn.started` first (with the turn id), then item events, and exactly one `turn.completed`
   * (status completed or interrupted) or `turn.failed` last; never throws once iteration started.
   * Aborting `signal` interrupts the turn.
   */
  turn(input: TurnInput, signal: AbortSignal, options?: TurnOptions): AsyncIterable<AgentEvent>
  /**
   * Adds input to the turn in progress (codex `turn/steer`); rejects when no turn runs (409: the core queues the
   * input as the next turn then). `sending` is awaited once the driver found a turn to steer, right before the
   * input goes to the agent (the core records the steer there: a refusal before it records nothing); its error
   * refuses the steer. A driver that can tell whether the agent then took the input into the turn resolves with a
   * SteerReceipt: an agent may accept a steer and end its turn without it (codex drops a steer still pending when
   * its turn is interrupted).
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a driver without a receipt (most) resolves with nothing
  steer(input: TurnInput, sending?: () => Promise<void>): Promise<SteerReceipt | void>
  /** Interrupts the turn in progress, if any. */
  interrupt(): Promise<void>
  /**
   * A new session that starts with this one's history (up to now). `hooks` are the fork's own (its approvals are
   * its own): a driver that asks per session object uses them, one that routes approvals itself may ignore them.
   */
  fork(hooks?: SessionHooks): Promise<AgentSession>
  /**
   * A fork's: where the agent's copy of its parent's thread ends, as the agent says (the gateway's fork point is set
   * from it when the parent may have moved during the fork: fork-point.ts); undefined when it cannot say. Absent:
   * the agent does not say (the gateway's own read of the parent before the fork stands).
   */
  forkedHead?(): Promise<ForkedHead | undefined>
  /** The agent's own record of the thread, with its turns (raw agent JSON). */
  read(includeTurns: boolean): Promise<unknown>
  archive(): Promise<void>
  /** Releases what the driver holds for this session (not the agent's history). */
  close(): Promise<void>
}

/** The last turn of its parent a fork holds, as the agent reported it (AgentSession.forkedHead). */
export interface ForkedHead {
  /** The agent's own id of the turn (a turn's `agentTurnId`). */
  turnId: string
  /** Whether the turn had ended in the parent when it was forked (else the fork holds it cut there). */
  ended: boolean
  /** The ids of the turn's items the fork holds complete (the ids its events carry), in order. */
  items: string[]
  /**
   * The fork holds none of this turn (running in the parent when it was forked): its copy ends right before the
   * turn started (claude, whose fork is a copy of the turns that had ended). `ended` and `items` say nothing then.
   */
  before?: boolean
}

export interface SessionDriver extends AgentDriver {
  /**
   * Whether a turn may run with another approval policy than its session's (TurnOptions; codex: `turn/start`'s
   * override). Without it the policy is the one the session was created with, for every turn.
   */
  readonly approvalPolicyPerTurn?: boolean
  /**
   * Whether its turns take an image as a data: URL (an `image` input item, passed on as it is; codex: `turn/start`'s
   * `image`). Without it only `localImage` files (with capabilities.images).
   */
  readonly imageUrls?: boolean
  /**
   * Whether the agent writes a turn's input back on one line the gateway reads (codex: its `userMessage` item, data:
   * URL images inline): a turn whose input would not fit that line is a 400 when it is sent (core/echoed-input.ts).
   */
  readonly echoesInput?: boolean
  /**
   * Whether a turn with images needs text too (copilot: `copilot -p` runs no turn without a prompt, "No prompt
   * provided"): a turn of images alone is then a 400 before it runs, not a turn that fails.
   */
  readonly imagesNeedText?: boolean
  openSession(req: SessionRequest, hooks: SessionHooks): Promise<AgentSession>
  /** Reopens a session the agent still knows (after a gateway or agent restart). */
  resumeSession(agentSessionId: string, req: SessionRequest, hooks: SessionHooks): Promise<AgentSession>
  /** Agent-specific calls the compatibility APIs pass through (codex: skills/list, skills/config/write, ...). */
  call(method: string, params: unknown): Promise<unknown>
  /** Models the agent offers, when it can list them. */
  listModels?(): Promise<string[]>
}

export const isSessionDriver = (d: AgentDriver): d is SessionDriver => 'openSession' in d
