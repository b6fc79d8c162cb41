import { AppError } from '../protocol/errors.js'
import { isSecretName } from './secrets.js'

/**
 * What env a request may give a CLI (POST /run, the `cli` agent on /v1/runs). Names are compared without
 * regard to case (`Path`, `http_proxy` and `ld_preload` are the names they look like: many programs read
 * either spelling), and a refused name passes only when RUN_ALLOW_ENV lists that exact spelling.
 */
interface Rule {
  test: RegExp
  why: string
}

const rules: Rule[] = [
  {
    // SHELLOPTS=xtrace with PS4='$(cmd)': every bash codex starts outside its sandbox (its shell snapshot) ran cmd
    why: 'it changes how the child process loads code or finds programs',
    test: /^(LD_.*|DYLD_.*|NODE_OPTIONS|NODE_PATH|PATH|PATHEXT|SHELL|BASH_ENV|ENV|IFS|PROMPT_COMMAND|SHELLOPTS|BASHOPTS|PS4|ZDOTDIR|PYTHON(PATH|STARTUP|HOME)|PERL5(OPT|LIB)|RUBY(OPT|LIB)|GIT_(SSH|SSH_COMMAND|EXEC_PATH|CONFIG.*|ASKPASS|PROXY_COMMAND|TEMPLATE_DIR)|SSH_ASKPASS|EDITOR|VISUAL|PAGER)$/,
  },
  {
    why: 'it points the agent at other state (home, configuration, sessions)',
    test: /^(HOME|USERPROFILE|XDG_[A-Z_]+|CODEX_.*|CLAUDE_.*|GEMINI_.*|COPILOT_.*|NPM_CONFIG_.*)$/,
  },
  {
    why: 'it changes where the agent’s traffic goes (a proxy or endpoint of the caller’s choosing could read the provider key)',
    test: /(PROXY|_BASE_URL$|_BASE$|_ENDPOINT$|_API_URL$|_HOST$|^OPENAI_|^ANTHROPIC_|^GOOGLE_|^AZURE_|^AWS_|^VERTEX)/,
  },
  {
    why: 'it changes whom the agent trusts (certificates, TLS checks)',
    test: /(^|_)(CA|CERT|CERTS|SSL|TLS)(_|$)|CA_BUNDLE|CA_CERTS?|REJECT_UNAUTHORIZED|SSLKEYLOGFILE/,
  },
  {
    // codex runs git itself, outside its sandbox: GIT_TRACE* wrote a file anywhere, GIT_DIR read another repository
    why: 'it points git at other repositories, files or programs (the CLI runs git outside its sandbox)',
    test: /^GIT_(?!(AUTHOR|COMMITTER)_(NAME|EMAIL|DATE)$)/,
  },
]
const credential = 'it sets a credential (the gateway chooses the agent’s credentials)'

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Why a name is refused, or undefined when a request may set it. */
export function refusedEnvReason(name: string): string | undefined {
  const upper = name.toUpperCase()
  return rules.find((rule) => rule.test.test(upper))?.why ?? (isSecretName(upper) ? credential : undefined)
}

export function checkRunEnv(env: Record<string, string>, allowed: readonly string[]): void {
  for (const [name, value] of Object.entries(env)) {
    if (!envName.test(name))
      throw new AppError('invalid_request', `env name "${name}" is not a valid variable name`)
    if (value.includes('\0')) throw new AppError('invalid_request', `env ${name} contains a NUL byte`)
    if (allowed.includes(name)) continue
    const why = refusedEnvReason(name)
    if (why)
      throw new AppError(
        'forbidden_env',
        `env ${name} is not allowed: ${why}; an operator can allow it with RUN_ALLOW_ENV=${name}`,
        { name },
      )
  }
}
