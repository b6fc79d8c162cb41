import type { Config } from '../../config/load.js'
import { parseWebhookSecret } from '../../config/webhook-secret.js'
import { AppError } from '../../protocol/errors.js'
import type { StoredEvent } from '../../protocol/events.js'
import type { WebhookDelivery, WebhookEvent, WebhookSpec } from '../../protocol/webhooks.js'
import type { Store } from '../../store/store.js'
import { newId } from '../ids.js'
import type { GatewayMetrics } from './metrics.js'
import { webhookKeyOf, webhookSecretOf } from './webhook-keys.js'
import { postWebhook } from './webhook-send.js'
import { webhookHeaders } from './webhook-signature.js'
import { WebhookTargets } from './webhook-target.js'

const batchSize = 20
const maxDelayMs = 3_600_000

/** Which webhook event a stored event is, if any: runs send run.completed, sessions the others. */
function webhookEventOf(ev: StoredEvent): WebhookEvent | null {
  if (ev.runId) return ev.type === 'run.completed' ? 'run.completed' : null
  switch (ev.type) {
    case 'approval.requested':
    case 'approval.resolved':
    case 'turn.completed':
    case 'turn.failed':
      return ev.type
    case 'session.status':
      return ev.status === 'idle' ? 'session.idle' : null
    default:
      return null
  }
}

/**
 * Webhooks with a durable outbox. Each stored event that is a webhook event becomes one delivery per target
 * (WEBHOOK_URLS, plus the run's or session's own `webhook`), written to the store before any attempt. The
 * dispatcher sends due deliveries signed per Standard Webhooks, retries failures with exponential backoff
 * under the same webhook-id, and finds what a previous server left pending when it starts.
 */
export class Webhooks {
  private readonly key: Buffer | undefined
  private readonly targets: WebhookTargets
  private readonly inFlight = new Set<string>()
  private readonly stopping = new AbortController()
  private timer: NodeJS.Timeout | undefined
  private pumping: Promise<void> | undefined
  private again = false
  private readonly enqueued = new Set<Promise<void>>()

  constructor(
    private readonly store: Store,
    private readonly config: Config,
    private readonly metrics: GatewayMetrics,
  ) {
    this.key = config.WEBHOOK_SECRET ? parseWebhookSecret(config.WEBHOOK_SECRET) : undefined
    this.targets = new WebhookTargets(config.WEBHOOK_ALLOWED_HOSTS)
  }

  /** Checks a `webhook` given on a request: a secret is configured and the target is allowed (400 otherwise). */
  async check(spec: WebhookSpec | undefined): Promise<void> {
    if (!spec) return
    if (!this.key)
      throw new AppError('invalid_request', 'webhooks need WEBHOOK_SECRET on the server to sign deliveries')
    await this.targets.check(spec.url)
  }

  /**
   * The Standard Webhooks secret (`whsec_...`) that verifies the deliveries of `tenant`'s own webhooks (a run's or
   * session's `webhook`); 400 without WEBHOOK_SECRET. The untenanted ones verify with WEBHOOK_SECRET itself.
   */
  secretOf(tenant: string): string {
    if (!this.key)
      throw new AppError('invalid_request', 'webhooks need WEBHOOK_SECRET on the server to sign deliveries')
    return webhookSecretOf(webhookKeyOf(this.key, tenant))
  }

  /** The EventLog tap: turns webhook events into outbox rows (asynchronously; `flush` waits for them). */
  readonly tap = (ev: StoredEvent): void => {
    const event = webhookEventOf(ev)
    if (!event || !this.key) return
    const job = this.enqueue(event, ev)
      .catch(() => {})
      .finally(() => this.enqueued.delete(job))
    this.enqueued.add(job)
  }

  /** Starts delivering, beginning with whatever a previous server left pending. */
  start(): void {
    this.kick()
  }

  /** Stops delivering: attempts in flight are aborted and stay pending for the next start. */
  async stop(): Promise<void> {
    await Promise.all([...this.enqueued])
    this.stopping.abort()
    clearTimeout(this.timer)
    await this.pumping
  }

  private async enqueue(event: WebhookEvent, ev: StoredEvent): Promise<void> {
    // url -> the tenant whose key signs its deliveries (null: the server's); the operator's WEBHOOK_URLS always the server's
    const urls = new Map<string, string | null>()
    const { spec: own, tenant } = await this.ownSpec(ev)
    if (own && (!own.events || own.events.includes(event))) urls.set(own.url, tenant)
    for (const url of this.config.WEBHOOK_URLS) urls.set(url, null)
    if (urls.size === 0) return
    const now = new Date().toISOString()
    const body = JSON.stringify({ type: event, timestamp: ev.at, data: ev })
    for (const [url, signer] of urls)
      await this.store.enqueueWebhook({
        id: newId('msg'),
        url,
        event,
        body,
        ...(signer === null ? {} : { tenant: signer }),
        state: 'pending',
        attempts: 0,
        nextAttemptAt: now,
        lastError: null,
        createdAt: now,
        deliveredAt: null,
      })
    this.kick()
  }

  /** The run's or session's own webhook, and its tenant (null: untenanted). */
  private async ownSpec(ev: StoredEvent): Promise<{ spec?: WebhookSpec; tenant: string | null }> {
    if (ev.runId) {
      const run = await this.store.getRun(ev.runId)
      return { ...(run?.request.webhook ? { spec: run.request.webhook } : {}), tenant: run?.tenant ?? null }
    }
    if (ev.sessionId) {
      const session = await this.store.getSession(ev.sessionId)
      return { ...(session?.webhook ? { spec: session.webhook } : {}), tenant: session?.tenant ?? null }
    }
    return { tenant: null }
  }

  /** Runs the dispatcher now (or right after the pass in progress). */
  private kick(): void {
    if (this.stopping.signal.aborted) return
    if (this.pumping) {
      this.again = true
      return
    }
    clearTimeout(this.timer)
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined
      if (this.again) {
        this.again = false
        this.kick()
      }
    })
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        const due = (await this.store.dueWebhooks(new Date().toISOString(), batchSize)).filter(
          (d) => !this.inFlight.has(d.id),
        )
        if (due.length === 0 || this.stopping.signal.aborted) break
        await Promise.all(due.map((d) => this.attempt(d)))
      }
      await this.scheduleNext()
    } catch {
      // The store is closing or failed; the next start picks the outbox up again.
    }
  }

  private async scheduleNext(): Promise<void> {
    if (this.stopping.signal.aborted) return
    const next = await this.store.nextWebhookAt()
    if (!next) return
    this.timer = setTimeout(() => this.kick(), Math.max(0, Date.parse(next) - Date.now()))
    this.timer.unref()
  }

  private async attempt(d: WebhookDelivery): Promise<void> {
    this.inFlight.add(d.id)
    const attempts = d.attempts + 1
    try {
      // Literal IPs never reach `lookup`, so the target is checked here too; names are checked again there.
      await this.targets.check(d.url)
      const status = await postWebhook(
        d.url,
        d.body,
        webhookHeaders(webhookKeyOf(this.key!, d.tenant ?? null), d.id, d.body),
        {
          lookup: this.targets.lookup,
          timeoutMs: this.config.WEBHOOK_TIMEOUT_MS,
          signal: this.stopping.signal,
        },
      )
      if (status >= 200 && status < 300) {
        await this.store.updateWebhook(d.id, {
          state: 'delivered',
          attempts,
          deliveredAt: new Date().toISOString(),
          lastError: null,
        })
        this.metrics.webhook(d.event, 'delivered')
        return
      }
      await this.failed(d, attempts, `HTTP ${status}`)
    } catch (err) {
      // Stopping: the attempt does not count; the delivery stays pending for the next start.
      if (this.stopping.signal.aborted) return
      const message = (err as Error).message
      if (/WEBHOOK_ALLOWED_HOSTS/.test(message)) {
        await this.store.updateWebhook(d.id, { state: 'failed', attempts, lastError: message })
        this.metrics.webhook(d.event, 'refused')
        return
      }
      await this.failed(d, attempts, message)
    } finally {
      this.inFlight.delete(d.id)
    }
  }

  private async failed(d: WebhookDelivery, attempts: number, error: string): Promise<void> {
    if (attempts >= this.config.WEBHOOK_MAX_ATTEMPTS) {
      await this.store.updateWebhook(d.id, { state: 'failed', attempts, lastError: error })
      this.metrics.webhook(d.event, 'gave_up')
      return
    }
    const delay = Math.min(maxDelayMs, this.config.WEBHOOK_RETRY_BASE_MS * 2 ** (attempts - 1))
    await this.store.updateWebhook(d.id, {
      attempts,
      lastError: error,
      nextAttemptAt: new Date(Date.now() + delay).toISOString(),
    })
    this.metrics.webhook(d.event, 'failed_attempt')
  }
}
