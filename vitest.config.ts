import { defineConfig } from 'vitest/config'
import { DurationSequencer } from './test/support/duration-sequencer.js'

/**
 * Unit files that need a fresh process: they assert on process-wide state of src/ (the spawn host a process
 * starts once, src/process/spawn-host.ts), or mock a module (vi.mock) that an earlier file in the same worker
 * would already have loaded unmocked.
 */
const freshProcessUnitFiles = [
  'test/unit/ids.test.ts',
  'test/unit/spawn-host.test.ts',
  'test/unit/spawn-host-start.test.ts',
  'test/unit/spawn-host-retry.test.ts',
  'test/unit/spawn-host-replace.test.ts',
  // endEscaped without a host, then through this process's host
  'test/unit/end-escaped.test.ts',
  // its last test kills the spawn host of its process, which is not replaced (died young): a shared worker's later
  // files would spawn without one (pinned-cwd.test.ts, which asserts that the host starts, failed after it)
  'test/unit/spawn-host-stress.test.ts',
  // mocks item-delta.ts to count what the ACP mapper compares (it loads no server modules: cheap alone)
  'test/unit/acp-long-output.test.ts',
]
const unitFiles = 'test/unit/**/*.test.ts'

/**
 * Integration files that share their worker's modules like the unit files: each runs its gateways or drivers in
 * the worker's own process (no server process started by the file; its PostgreSQL servers, agents and containers
 * are its own), mocks no module and leaves no process-wide state (state-check.ts after each). In a fresh worker
 * each loaded the server's modules again: the first 47 took 271 s of CPU isolated, 136-144 s shared
 * (docs/benchmarks.md, session 27); the next 67 370 s and 222 s (session 28). A file that asserts on what a process
 * loads or starts once (lazy-modules.test.ts, the spawn host's) or mocks a module (state-check.test.ts's fixtures)
 * stays isolated. The e2e and browser files that run their gateways in the worker's process (no server process)
 * are listed here too.
 */
const sharedIntegrationFiles = [
  'test/integration/run-event-store-failure.test.ts',
  'test/integration/run-start-commit.test.ts',
  'test/integration/config-read-close.test.ts',
  'test/integration/agent-probes.test.ts',
  'test/integration/run-files.test.ts',
  'test/integration/log-redaction.test.ts',
  'test/integration/run-cli-bypass.test.ts',
  'test/integration/acp-escaped-env-policy.test.ts',
  'test/integration/client-connection-limits.test.ts',
  'test/integration/run-end-recovery.test.ts',
  'test/integration/run-output-burst.test.ts',
  'test/integration/browser-origin.test.ts',
  'test/integration/app-server-host-unload.test.ts',
  'test/integration/auth-surface.test.ts',
  'test/integration/session-turn-sandbox-consent.test.ts',
  'test/integration/operations-logging.test.ts',
  'test/integration/route-family-errors.test.ts',
  'test/integration/acp-project-include-only.test.ts',
  'test/integration/run-admission-burst.test.ts',
  'test/integration/stop-queued-turn.test.ts',
  'test/integration/codex-resume-turn-policy.test.ts',
  'test/integration/run-env-escape.test.ts',
  'test/integration/session-create-membership.test.ts',
  'test/integration/stop-tls-connections.test.ts',
  'test/integration/operations-budgets.test.ts',
  'test/integration/codex-ca-anchor.test.ts',
  'test/integration/session-stray-approval.test.ts',
  'test/integration/agent-stream-ws.test.ts',
  'test/integration/approvals-inbox-stream.test.ts',
  'test/integration/codex-agent-server-routes.test.ts',
  'test/integration/codex-restart-turn-policy.test.ts',
  'test/integration/session-archive-running-turn.test.ts',
  'test/integration/client-follow-events.test.ts',
  'test/integration/session-turn-policy.test.ts',
  'test/integration/agent-stream-attach-count.test.ts',
  'test/integration/client-example.test.ts',
  'test/integration/seed-runs-durable.test.ts',
  'test/integration/codex-api-plan-routes.test.ts',
  'test/integration/bad-input.test.ts',
  'test/integration/operations-scopes.test.ts',
  'test/integration/approval-sweep-gateway.test.ts',
  'test/integration/cli-run-held-output.test.ts',
  'test/integration/session-idle-unload.test.ts',
  'test/integration/stop-stuck-run.test.ts',
  'test/integration/confinement.test.ts',
  'test/integration/http-protocols.test.ts',
  'test/integration/codex-exec-driver.test.ts',
  // session 28 (h38-suite): the rest that start no server process and mock no module, PostgreSQL's included
  'test/integration/acp-stuck-process-retired.test.ts',
  'test/integration/agent-stream-half-frames.test.ts',
  'test/integration/agent-stream-turn-policy.test.ts',
  'test/integration/agent-stream.test.ts',
  'test/integration/app-server-client.test.ts',
  'test/integration/approval-sweep.test.ts',
  'test/integration/cluster-sessions.test.ts',
  'test/integration/cluster-tenants.test.ts',
  'test/integration/codex-project-include-only.test.ts',
  'test/integration/codex-serve-routes.test.ts',
  'test/integration/codex-streaming-routes.test.ts',
  'test/integration/connection-limits.test.ts',
  'test/integration/escaped-commands-env-policy.test.ts',
  'test/integration/escaped-commands.test.ts',
  'test/integration/mock-llm-codex.test.ts',
  'test/integration/node-calls.test.ts',
  'test/integration/operations-metrics.test.ts',
  'test/integration/pg-event-bus-notices.test.ts',
  'test/integration/postgres-event-log-group.test.ts',
  'test/integration/postgres-event-log-lanes.test.ts',
  'test/integration/postgres-leftovers.test.ts',
  'test/integration/postgres-pool-size.test.ts',
  'test/integration/postgres-timeouts.test.ts',
  'test/integration/proxy-credentials.test.ts',
  'test/integration/run-fencing.test.ts',
  'test/integration/run-worker-membership.test.ts',
  'test/integration/secrets.test.ts',
  'test/integration/session-approval-after-turn-end.test.ts',
  'test/integration/session-archive-agent-unreachable.test.ts',
  'test/integration/session-archive-race.test.ts',
  'test/integration/session-archive-turn-start.test.ts',
  'test/integration/session-forced-end-reopen.test.ts',
  'test/integration/session-reopen-no-turns.test.ts',
  'test/integration/session-state-order.test.ts',
  'test/integration/session-steer-unstored-turn.test.ts',
  'test/integration/session-turn-policy-record.test.ts',
  'test/integration/slow-request-bodies.test.ts',
  'test/integration/stop-ends-streams.test.ts',
  'test/integration/tenants.test.ts',
  'test/integration/v1-runs.test.ts',
  'test/integration/v1-sessions.test.ts',
  // (the same, the ones that run agents for longer, and those that run containers)
  'test/integration/acp-claude-approvals-http.test.ts',
  'test/integration/acp-command-output.test.ts',
  'test/integration/acp-driver.test.ts',
  'test/integration/acp-secrets.test.ts',
  'test/integration/acp-shared-process.test.ts',
  'test/integration/acp-warm-runs.test.ts',
  'test/integration/ai-provider-agents.test.ts',
  'test/integration/claude-approvals.test.ts',
  'test/integration/claude-driver.test.ts',
  'test/integration/codex-session-driver.test.ts',
  'test/integration/codex-warm-runs.test.ts',
  'test/integration/container-agents.test.ts',
  'test/integration/container-runs.test.ts',
  'test/integration/container-sessions.test.ts',
  'test/integration/copilot-driver.test.ts',
  'test/integration/docker-engine.test.ts',
  'test/integration/docker-mode.test.ts',
  'test/integration/escaped-daemons.test.ts',
  'test/integration/gemini-driver.test.ts',
  'test/integration/headless-approval-policy.test.ts',
  'test/integration/image-import.test.ts',
  'test/integration/operations-webhooks.test.ts',
  'test/integration/postgres-store.test.ts',
  'test/integration/readable-errors.test.ts',
  'test/integration/run-capacity.test.ts',
  'test/integration/session-turn-ignores-interrupt.test.ts',
  // session 29 (h39-suite): the two that other helpers were changing in session 28
  'test/integration/key-proxy-agents.test.ts',
  'test/integration/workspace-agent-config.test.ts',
  // session 31 (h41-suitetime): session 30's new files (a gateway in the worker's process, a PostgreSQL database and
  // stores of the file's own, `node -e` children it ends; no vi.mock, nothing a process does once)
  'test/integration/data-dir-full.test.ts',
  'test/integration/health-store-down.test.ts',
  'test/integration/pg-liveness-lock.test.ts',
  // session 43 (h53-suite): sessions 32-42's new files of that kind (a gateway, PostgreSQL databases, real agents or
  // Chromium of their own in the worker's process; no vi.mock, nothing a process does once). Still isolated:
  // h2-connection-header (Node's UnsupportedWarning is printed once per process), lazy-modules, state-check
  'test/integration/acp-gemini-long-history.test.ts',
  'test/integration/agent-stream-last-frame.test.ts',
  'test/integration/cancel-store-down.test.ts',
  'test/integration/cluster-admission.test.ts',
  'test/integration/cluster-long-history.test.ts',
  'test/integration/codex-long-history.test.ts',
  'test/integration/codex-snapshot-leftovers.test.ts',
  'test/integration/h2-clients-gone.test.ts',
  'test/integration/h2-early-answers.test.ts',
  'test/integration/health-store-down-output.test.ts',
  'test/integration/health-store-down-session-output.test.ts',
  'test/integration/image-ceiling.test.ts',
  'test/integration/postgres-listen-check.test.ts',
  'test/integration/postgres-lock-wait.test.ts',
  'test/integration/postgres-stop-frozen.test.ts',
  'test/integration/postgres-transaction-hang.test.ts',
  // session 45 (h55-suite): session 44's new files of that kind (a gateway, PostgreSQL databases and a real codex
  // of their own in the worker's process, pg-boss's queue on its own database; no vi.mock, nothing a process does once)
  'test/integration/codex-warm-leftovers.test.ts',
  'test/integration/health-store-down-acp-output.test.ts',
  'test/integration/pg-boss-lost-job.test.ts',
  'test/integration/pg-boss-resend-lost.test.ts',
  'test/integration/pg-boss-send-bound.test.ts',
  // session 46 (h56-suite): session 45's new files of that kind (a gateway in the worker's process, a real codex or
  // a PostgreSQL server of their own; no vi.mock, nothing a process does once): each loaded src/ again, isolated
  'test/integration/codex-accept-for-session.test.ts',
  'test/integration/codex-escalation.test.ts',
  'test/integration/pg-boss-work-bound.test.ts',
  'test/integration/v1-runs-idempotency.test.ts',
  // (and the two e2e files whose one gateway runs in the worker's process: the fuzz corpus and the SQLite stress)
  'test/e2e/openapi-fuzz.test.ts',
  'test/e2e/session-lifecycle-stress.test.ts',
  // the web console's: its gateways in the worker's process, its Chromium closed after it
  'test/browser/console.test.ts',
  'test/browser/console-access.test.ts',
  'test/browser/console-agents.test.ts',
  'test/browser/console-phone-header.test.ts',
  'test/browser/console-session-bar.test.ts',
]

/** What both projects share (a project does not inherit the root's test options). */
const fileOptions = {
  testTimeout: 60_000,
  hookTimeout: 30_000,
  // expect.poll's own default (1 s) is shorter than a loaded 2-core machine may stall a worker; a poll ends as soon
  // as its check holds
  expect: { poll: { timeout: 15_000 } },
  // state-check after leak-check: its afterAll runs first (reverse order), so no fake setTimeout is left there
  setupFiles: ['test/support/leak-check.ts', 'test/support/state-check.ts'],
}

export default defineConfig({
  test: {
    // Real CLIs and real servers: keep parallelism modest on 2-core machines.
    maxWorkers: 2,
    // the longest files first (test/support/durations.json), so both workers end together; the shared-modules
    // files after the others, so a worker runs them one after another on the modules it loaded once
    sequence: { sequencer: DurationSequencer },
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default'],
    projects: [
      {
        test: {
          ...fileOptions,
          // the unit files share their worker's modules (no fresh module graph per file): each file loading
          // fastify, ajv, zod and src/ again cost the suite about 90 s of CPU (docs/benchmarks.md, session 23)
          name: 'shared-modules',
          include: [unitFiles, ...sharedIntegrationFiles],
          exclude: freshProcessUnitFiles,
          isolate: false,
        },
      },
      {
        test: {
          ...fileOptions,
          // server processes (e2e), the browser, freshProcessUnitFiles and the integration files not shared above
          name: 'isolated',
          include: ['test/!(unit)/**/*.test.ts', ...freshProcessUnitFiles],
          exclude: sharedIntegrationFiles,
        },
      },
    ],
  },
})
