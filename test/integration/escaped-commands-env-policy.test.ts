import { afterEach, beforeEach, describe, it } from 'vitest'
import { expectCancelledRunEndsEscaped } from '../support/escaped-commands.js'
import { sharedGateway } from '../support/gateway.js'
import { killAll, listProcesses, type ProcInfo } from '../support/processes.js'

// The markers that find a command's leftovers travel in its environment; an operator's codex
// `shell_environment_policy` decides that environment. Whatever it says (no inheritance, an `include_only`
// list without the gateway's names), a command that left codex's process tree is still ended with its run.
let marker: string
beforeEach(() => {
  marker = `${3000 + Math.floor(Math.random() * 6000)}.${process.pid}`
})
afterEach(() => killAll(escaped()))

const escaped = (): ProcInfo[] => listProcesses().filter((p) => p.cmd === `sleep ${marker}`)
/**
 * A double fork out of codex's tree (see escaped-commands.test.ts), then a foreground sleep. It stays in the run's
 * cwd: whichever rule finds it (its thread, its directory), it is found only by the marker it carries.
 */
const escapingCommand = () => ({
  kind: 'exec_command' as const,
  cmd: `(setsid sleep ${marker} </dev/null >/dev/null 2>&1 &); sleep 31`,
})
const sandbox = 'danger-full-access'

const cancelledWhileEscaped = (url: string, body: Record<string, unknown>) =>
  expectCancelledRunEndsEscaped(url, { prompt: 'escape', sandbox, ...body }, escaped)

for (const [policy, overrides] of [
  // the operator's own `set` table (commands need a PATH then) must not replace the gateway's entry either
  [
    'inherit = "none" and a set table of its own',
    'shell_environment_policy.inherit="none";shell_environment_policy.set={PATH="/usr/local/bin:/usr/bin:/bin"}',
  ],
  ['include_only without the markers', 'shell_environment_policy.include_only=["PATH","HOME"]'],
] as const) {
  describe(`an operator's codex shell_environment_policy: ${policy}`, () => {
    const shared = sharedGateway({ ALLOW_DANGER_FULL_ACCESS: 'true', CODEX_CONFIG_OVERRIDES: overrides })

    it('a warm run (app-server) cancelled while its escaped command runs: the command ends', {
      timeout: 120_000,
    }, async () => {
      shared.mock.script(escapingCommand(), { kind: 'text', text: 'never' })
      await cancelledWhileEscaped(shared.gw.url, {})
    })

    it('a codex exec run cancelled while its escaped command runs: the command ends', {
      timeout: 120_000,
    }, async () => {
      shared.mock.script(escapingCommand(), { kind: 'text', text: 'never' })
      await cancelledWhileEscaped(shared.gw.url, { agent: 'codex-exec' })
    })
  })
}
