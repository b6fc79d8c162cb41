import type { AuthenticateRequest, InitializeResponse } from '@agentclientprotocol/sdk'
import type { ModelProvider } from '../../process/key-proxy/provider-auth.js'
import type { RunningProcess } from '../../process/runner.js'

/**
 * claude-agent-acp with the key proxy: told once, right after `initialize`, to send its model requests to the
 * proxy (ACP `authenticate` with its `gateway` method: `_meta.gateway.baseUrl` and `headers`), with the token it
 * was lent at start (the one its ANTHROPIC_API_KEY holds; never the real key, which it never had). Without that it
 * runs `claude auth status --json` (a whole Claude Code start: 0.7 s of CPU, 0.9-2.3 s wall on a loaded 2-core
 * machine, session 39) in the background at every prompt and at every session it opens, to report who pays; under
 * gateway authentication it skips that. The run at its own `initialize` is left, one per process: it starts before
 * `initialize` is answered, and the agent's ACP SDK refuses any request before that ("ACP connection must be
 * initialized before 'authenticate'"), so nothing can come first; the gateway ignores what it reports (its own
 * check of the credentials says what is missing: probe.ts). What it does with it (0.100): the Claude Code of each session it
 * opens after it gets ANTHROPIC_BASE_URL = the proxy's URL, ANTHROPIC_CUSTOM_HEADERS = `x-api-key: <token>` (the
 * proxy takes the token from `x-api-key` before a bearer, and drops both: provider-auth.ts), ANTHROPIC_AUTH_TOKEN
 * = `acp-proxy` and ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN and the Bedrock/Vertex routing emptied, in its env
 * and in its settings' `env` (and `apiKeyHelper: ""`); nothing else: not the model (no listing is made for this
 * method), the permission mode, nor the errors. The two variables that now hold or name a credential are unset in
 * Claude Code's commands like the key (scrubbed-shell.ts, `proxyAuthenticationScrubbed`).
 */

/** The capability that makes claude-agent-acp offer its `gateway` method (`initialize`'s clientCapabilities). */
export const proxyAuthenticationCapability = { auth: { _meta: { gateway: true } } } as const

/** What Claude Code's env holds a credential in once it is authenticated so: kept from its commands. */
export const proxyAuthenticationScrubbed = ['ANTHROPIC_CUSTOM_HEADERS', 'ANTHROPIC_AUTH_TOKEN'] as const

const gatewayMethod = 'gateway'

/**
 * The `authenticate` request for the process `proc` (the proxy's URL and the token it was lent for `provider`);
 * null when it was lent none (no key proxy, a container) or the agent offers no `gateway` method: it then goes on
 * as before, with its env's key.
 */
export function proxyAuthenticateRequest(
  proc: Pick<RunningProcess, 'lent'>,
  provider: ModelProvider,
  init: Pick<InitializeResponse, 'authMethods'>,
): AuthenticateRequest | null {
  if (!init.authMethods?.some((m) => m.id === gatewayMethod)) return null
  const lent = proc.lent?.(provider)
  if (!lent) return null
  return {
    methodId: gatewayMethod,
    _meta: { gateway: { baseUrl: lent.url, headers: { 'x-api-key': lent.token } } },
  }
}
