import { describe, expect, it } from 'vitest'
import { checkRunArgs, checkRunEnv, codexStartsInteractive } from '../../src/process/policy.js'
import { AppError } from '../../src/protocol/errors.js'

function refusal(fn: () => void): AppError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(AppError)
    return err as AppError
  }
  throw new Error('expected a refusal, but the call was allowed')
}

/** Refused with forbidden_argument, and the message tells an operator how to allow it. */
function expectArgsRefused(args: string[], cli = 'codex'): AppError {
  const err = refusal(() => checkRunArgs(cli, args, false))
  expect(err.code).toBe('forbidden_argument')
  expect(err.status).toBe(400)
  expect(err.message).toContain('RUN_ALLOW_UNSAFE_ARGS=true')
  return err
}

function expectArgsAllowed(args: string[], cli = 'codex'): void {
  expect(() => checkRunArgs(cli, args, false)).not.toThrow()
}

describe('checkRunArgs: bypass flags', () => {
  it.each([
    '--dangerously-bypass-approvals-and-sandbox',
    '--dangerously-bypass-hook-trust',
    '--dangerously-skip-permissions',
    '--yolo',
    '--allow-all-tools',
    '--allow-all-paths',
    '--allow-all',
    '--dangerously-do-anything-new',
  ])('refuses %s', (flag) => {
    const err = expectArgsRefused(['exec', flag, 'hi'])
    expect(err.message).toContain(flag)
  })

  it('refuses bypass flags for other CLIs too', () => {
    expectArgsRefused(['-p', 'hi', '--dangerously-skip-permissions'], 'claude')
    expectArgsRefused(['--permission-mode', 'bypassPermissions', '-p', 'hi'], 'claude')
    expectArgsRefused(['--permission-mode=bypassPermissions', '-p', 'hi'], 'claude')
    expectArgsAllowed(['--permission-mode', 'default', '-p', 'hi'], 'claude')
  })

  it.each([
    ['gemini', ['-p', 'hi', '-y']],
    ['gemini', ['-sy', '-p', 'hi']],
    ['gemini', ['--approval-mode', 'yolo', '-p', 'hi']],
    ['gemini', ['--approval-mode=yolo', '-p', 'hi']],
    ['gemini', ['--approvalMode', 'yolo', '-p', 'hi']],
    ['gemini', ['--allowed-tools', 'run_shell_command', '-p', 'hi']],
    ['gemini', ['--allowedTools=run_shell_command', '-p', 'hi']],
    ['gemini', ['--policy', 'allow-all.toml', '-p', 'hi']],
    ['/usr/local/bin/gemini', ['-p', 'hi', '-y']],
    ['claude', ['-p', 'hi', '--allowedTools', 'Bash']],
    ['claude', ['-p', 'hi', '--allowed-tools=Bash']],
    ['claude', ['-p', 'hi', '--settings', '{"permissions":{"defaultMode":"bypassPermissions"}}']],
    ['copilot', ['-p', 'hi', '--allow-tool', 'shell']],
    ['copilot', ['-p', 'hi', '--allow-tool=shell']],
  ])('%s: refuses the other spellings of a bypass (%j)', (cli, args) => {
    expectArgsRefused(args, cli)
  })

  it('passes what those CLIs take without a bypass', () => {
    expectArgsAllowed(['-p', 'say yes', '--approval-mode', 'default', '-m', 'gemini-2.5-flash'], 'gemini')
    expectArgsAllowed(['-p', 'hi', '--output-format', 'stream-json'], 'claude')
    expectArgsAllowed(['-p', 'hi', '--deny-tool', 'shell'], 'copilot')
    // another program's -y is its own
    expectArgsAllowed(['-y', 'x'], 'apt-get')
  })
})

describe('checkRunArgs: sandbox', () => {
  it.each([
    [['exec', '--sandbox', 'danger-full-access', 'hi']],
    [['exec', '-s', 'danger-full-access', 'hi']],
    [['exec', '--sandbox=danger-full-access', 'hi']],
    [['--sandbox', 'danger-full-access', 'exec', 'hi']],
  ])('refuses %j', (args) => {
    const err = expectArgsRefused(args)
    expect(err.message).toContain('danger-full-access')
  })

  it.each([
    [['exec', '-s', 'workspace-write', 'hi']],
    [['exec', '--sandbox', 'read-only', 'hi']],
    [['exec', '--sandbox=workspace-write', 'hi']],
  ])('allows %j', (args) => {
    expectArgsAllowed(args)
  })

  it.each([[['exec', '-sdanger-full-access', 'hi']], [['exec', '-s=danger-full-access', 'hi']]])(
    'refuses the attached short form %j (clap accepts it as `-s danger-full-access`)',
    (args) => {
      expectArgsRefused(args)
    },
  )
})

describe('checkRunArgs: path flags', () => {
  it.each([
    [['exec', '-C', '/', 'hi']],
    [['exec', '--cd', '/etc', 'hi']],
    [['exec', '--cd=/etc', 'hi']],
    [['exec', '--add-dir', '/home', 'hi']],
    [['exec', '-o', '/tmp/last.txt', 'hi']],
    [['exec', '--output-last-message', '/tmp/last.txt', 'hi']],
    [['exec', '--output-schema', '/etc/schema.json', 'hi']],
    [['exec', '-i', '/etc/passwd', 'hi']],
    [['exec', '--image=/etc/passwd', 'hi']],
  ])('refuses %j', (args) => {
    const err = expectArgsRefused(args)
    expect(err.message).toContain('cwd')
  })

  it.each([[['exec', '-C/', 'hi']], [['exec', '-i/etc/passwd', 'hi']], [['exec', '-o/tmp/x', 'hi']]])(
    'refuses the attached short form %j',
    (args) => {
      expectArgsRefused(args)
    },
  )
})

describe('checkRunArgs: -c / --config overrides', () => {
  it.each([
    [['-c', 'model="x"', 'exec', 'hi']],
    [['exec', '-c', 'model_reasoning_effort=high', 'hi']],
    [['exec', '--config', 'model_verbosity=low', 'hi']],
    [['exec', '--config=model="gpt-5"', 'hi']],
    [['exec', '-c', ' model = "x" ', 'hi']],
  ])('allows model settings %j', (args) => {
    expectArgsAllowed(args)
  })

  it.each([
    [['exec', '-c', 'model_provider=x', 'hi']],
    [['exec', '-c', 'model_providers.x.base_url="http://evil.example/v1"', 'hi']],
    [['exec', '-c', 'sandbox_mode="danger-full-access"', 'hi']],
    [['exec', '--config', 'notify=["sh","-c","id"]', 'hi']],
    [['exec', '--config=notify=["sh","-c","id"]', 'hi']],
    [['exec', '-c', 'mcp_servers.x.command="sh"', 'hi']],
    [['exec', '-c', 'model.extra=1', 'hi']],
    [['exec', '-c', 'features.web_search=true', 'hi']],
    [['exec', '-c', 'shell_environment_policy.inherit=all', 'hi']],
    [['exec', '-c', 'model', 'hi']],
  ])('refuses %j', (args) => {
    const err = expectArgsRefused(args)
    expect(err.message).toContain('only model settings')
  })

  it('refuses -c without its value', () => {
    expect(expectArgsRefused(['exec', '-c']).message).toContain('needs a value')
  })

  it('refuses the attached short form -cKEY=VALUE', () => {
    expectArgsRefused(['exec', '-cmodel_provider=x', 'hi'])
  })
})

describe('checkRunArgs: codex subcommands', () => {
  it.each([
    [['exec', '--json', 'hi']],
    [['e', 'hi']],
    [['review']],
    [['-m', 'exec', 'exec', 'hi']],
    [['--model', 'gpt-5', 'exec', 'hi']],
    [['--version']],
    [['-V']],
    [['--help']],
  ])('allows %j', (args) => {
    expectArgsAllowed(args)
  })

  it.each([
    [['sandbox', 'linux', 'bash'], 'sandbox'],
    [['login'], 'login'],
    [['mcp', 'list'], 'mcp'],
    [['-m', 'gpt-5', 'login'], 'login'],
    [['-m', 'exec', 'login'], 'login'],
  ])('refuses %j', (args, sub) => {
    const err = expectArgsRefused(args)
    expect(err.message).toContain(`"${sub}"`)
  })

  it.each([[[]], [['-m', 'gpt-5']], [['hello']], [['--', 'exec']]])(
    'refuses %j without a subcommand',
    (args) => {
      const err = expectArgsRefused(args)
      expect(err.message).toContain('exec')
    },
  )

  it('does not apply codex subcommand rules to other CLIs', () => {
    expectArgsAllowed(['login'], 'claude')
    expectArgsAllowed([], 'claude')
  })
})

describe('checkRunArgs: allowUnsafe', () => {
  it.each([
    [['exec', '--dangerously-bypass-approvals-and-sandbox', 'hi']],
    [['exec', '-s', 'danger-full-access', 'hi']],
    [['exec', '-C', '/', 'hi']],
    [['exec', '-c', 'model_provider=x', 'hi']],
    [['sandbox', 'linux', 'bash']],
    [['login']],
    [[]],
  ])('lets %j through', (args) => {
    expect(() => checkRunArgs('codex', args, true)).not.toThrow()
  })
})

describe('checkRunEnv', () => {
  it.each([
    'LD_PRELOAD',
    'LD_LIBRARY_PATH',
    'NODE_OPTIONS',
    'NODE_PATH',
    'PATH',
    'HOME',
    'DYLD_X',
    'PYTHONPATH',
    'PERL5OPT',
    'BASH_ENV',
    'GIT_SSH_COMMAND',
    'GIT_CONFIG_GLOBAL',
    'CODEX_HOME',
    'CODEX_PATH',
  ])('refuses %s with forbidden_env', (name) => {
    const err = refusal(() => checkRunEnv({ [name]: 'x' }, []))
    expect(err.code).toBe('forbidden_env')
    expect(err.status).toBe(400)
    expect(err.message).toContain(name)
    expect(err.message).toContain(`RUN_ALLOW_ENV=${name}`)
  })

  it.each(['FOO', '_X1', 'PATHS', 'MY_HOME', 'RUST_LOG', 'LANG', 'TZ', 'DEBUG', 'GIT_COMMITTER_NAME'])(
    'allows %s',
    (name) => {
      expect(() => checkRunEnv({ [name]: 'x' }, [])).not.toThrow()
    },
  )

  it.each(['BAD-NAME', '1ABC', '', 'A B', 'X=Y'])(
    'refuses the invalid name %j as invalid_request',
    (name) => {
      const err = refusal(() => checkRunEnv({ [name]: 'x' }, []))
      expect(err.code).toBe('invalid_request')
    },
  )

  it('checks every name, not only the first', () => {
    const err = refusal(() => checkRunEnv({ FOO: '1', BAR: '2', LD_PRELOAD: '/x.so' }, []))
    expect(err.code).toBe('forbidden_env')
    expect(err.message).toContain('LD_PRELOAD')
  })

  it('lets an allow-listed name through, and only that one', () => {
    expect(() => checkRunEnv({ PATH: '/usr/bin' }, ['PATH'])).not.toThrow()
    const err = refusal(() => checkRunEnv({ PATH: '/usr/bin', HOME: '/root' }, ['PATH']))
    expect(err.message).toContain('HOME')
  })

  it('accepts an empty env', () => {
    expect(() => checkRunEnv({}, [])).not.toThrow()
  })
})

/** Issue 9 item 7: codex 0.171's grammar (`codex --help`, `codex exec --help`, `codex review --help`). */
describe('checkRunArgs: codex grammar', () => {
  it.each<[string[], string]>([
    [['exec', 'resume', '--last'], 'another session'],
    [['exec', 'resume', '019a-id', 'hi'], 'another session'],
    [['exec', 'fork', '019a-id'], 'another session'],
    [['resume', '--last'], 'another session'],
    [['fork', '--last'], 'another session'],
    [['exec', '--enable', 'web_search', 'hi'], 'features'],
    [['exec', '--enable=web_search', 'hi'], 'features'],
    [['--disable', 'shell_snapshot', 'exec', 'hi'], 'features'],
    [['exec', '--profile', 'evil', 'hi'], 'profiles'],
    [['exec', '-p', 'evil', 'hi'], 'profiles'],
    [['exec', '-pevil', 'hi'], 'profiles'],
    [['-p', 'evil', 'exec', 'hi'], 'profiles'],
    [['exec', '--trust', 'hi'], 'trust'],
    [['exec', '--ignore-rules', 'hi'], 'sandbox or approvals'],
    [['exec', '--ignore-user-config', 'hi'], 'config'],
    [['exec', '--oss', 'hi'], 'provider'],
    [['exec', '--local-provider', 'ollama', 'hi'], 'provider'],
    [['exec', '--approve-for-me', 'hi'], 'sandbox or approvals'],
    [['exec', '--worktree', 'hi'], 'worktree'],
    [['exec', '--thread-source', 'x', 'hi'], 'state'],
    [['--remote', 'ws://127.0.0.1:1', 'exec', 'hi'], 'app server'],
    [['exec', '--remote', 'ws://127.0.0.1:1', 'hi'], 'app server'],
    [['exec', 'review', '--remote-auth-token-env', 'TOKEN'], 'app server'],
    [['--search', 'exec', 'hi'], 'web search'],
    [['exec', '--no-such-flag', 'hi'], 'has no option --no-such-flag'],
    [['exec', '--json=yes', 'hi'], 'takes no value'],
    [['exec', '-x', 'hi'], 'has no option -x'],
    [['exec', '-hC', '/'], 'bundled'],
    [['review', '--enable', 'x'], 'features'],
    [['review', '--trust'], 'trust'],
    [['review', '-m', 'x'], 'has no option -m'],
    [['exec', 'review', '-o', '/tmp/x'], 'paths'],
    [['exec', 'review', '--enable', 'x'], 'features'],
    [['features', 'list'], 'not allowed on /run'],
    [['app-server'], 'not allowed on /run'],
    [['apply'], 'not allowed on /run'],
    [['-m', 'exec', 'login'], 'not allowed on /run'],
  ])('refuses %j (%s)', (args, why) => {
    expect(expectArgsRefused(args).message).toContain(why)
  })

  it.each<[string[]]>([
    [['exec', '--json', '--skip-git-repo-check', '--ephemeral', 'hi']],
    [['exec', '-m', 'login', 'hi']], // `login` is the model, not a subcommand
    [['exec', '--model=resume', 'hi']],
    [['exec', '-mresume', 'hi']],
    [['exec', '--color', 'never', 'hi']],
    [['exec', '--', 'resume']], // after `--`, a prompt
    [['exec', '-']],
    [['exec', 'hi', 'resume']], // only the first positional names a subcommand
    [['exec', '--strict-config', 'hi']],
    [['exec', 'review', '--uncommitted']],
    [['exec', 'review', '--base', 'main', '--json']],
    [['review', '--commit', 'abc123', '--title', 'T']],
    [['review', '--base=main']],
    [['exec', 'help']],
    [['help', 'exec']],
    [['-hV']],
    [['--no-alt-screen', 'exec', 'hi']],
  ])('allows %j', (args) => {
    expectArgsAllowed(args)
  })
})

/** Issue 9 item 2: env that redirects traffic or trust, in any spelling. */
describe('checkRunEnv: traffic, trust and spelling', () => {
  it.each<[string, string]>([
    ['HTTP_PROXY', 'traffic'],
    ['http_proxy', 'traffic'],
    ['Https_Proxy', 'traffic'],
    ['ALL_PROXY', 'traffic'],
    ['NO_PROXY', 'traffic'],
    ['no_proxy', 'traffic'],
    ['OPENAI_BASE_URL', 'traffic'],
    ['openai_api_key', 'traffic'],
    ['ANTHROPIC_BASE_URL', 'traffic'],
    ['GOOGLE_GEMINI_BASE_URL', 'traffic'],
    ['MY_SERVICE_BASE_URL', 'traffic'],
    ['SSL_CERT_FILE', 'trusts'],
    ['SSL_CERT_DIR', 'trusts'],
    ['NODE_EXTRA_CA_CERTS', 'trusts'],
    ['REQUESTS_CA_BUNDLE', 'trusts'],
    ['CURL_CA_BUNDLE', 'trusts'],
    ['GIT_SSL_CAINFO', 'trusts'],
    ['NODE_TLS_REJECT_UNAUTHORIZED', 'trusts'],
    ['Path', 'loads code'],
    ['path', 'loads code'],
    ['ld_preload', 'loads code'],
    ['Node_Options', 'loads code'],
    ['home', 'other state'],
    ['codex_home', 'other state'],
    ['XDG_CONFIG_HOME', 'other state'],
    ['GITHUB_TOKEN', 'credential'],
    ['MY_SECRET', 'credential'],
    ['SHELLOPTS', 'loads code'],
    ['ps4', 'loads code'],
    ['ZDOTDIR', 'loads code'],
    ['GIT_TRACE', 'points git'],
    ['git_dir', 'points git'],
    ['GIT_EXTERNAL_DIFF', 'points git'],
  ])('refuses %s (%s) and names the override', (name, why) => {
    const err = refusal(() => checkRunEnv({ [name]: 'x' }, []))
    expect(err.code).toBe('forbidden_env')
    expect(err.message).toContain(why)
    expect(err.message).toContain(`RUN_ALLOW_ENV=${name}`)
  })

  it('RUN_ALLOW_ENV allows exactly the spelling it lists', () => {
    expect(() => checkRunEnv({ HTTP_PROXY: 'http://127.0.0.1:1' }, ['HTTP_PROXY'])).not.toThrow()
    expect(refusal(() => checkRunEnv({ http_proxy: 'x' }, ['HTTP_PROXY'])).message).toContain(
      'RUN_ALLOW_ENV=http_proxy',
    )
  })
})

describe('codexStartsInteractive', () => {
  it('is true when no subcommand is named (options and their values skipped), false otherwise', () => {
    for (const args of [
      [],
      ['--model', 'gpt-4'],
      ['-m', 'exec'],
      ['-mgpt-4'],
      ['--model=x', 'a prompt'],
      ['--'],
    ])
      expect(codexStartsInteractive(args), args.join(' ')).toBe(true)
    for (const args of [['exec', 'hi'], ['-m', 'x', 'e', '-'], ['--help'], ['-V'], ['review'], ['login']])
      expect(codexStartsInteractive(args), args.join(' ')).toBe(false)
  })
})
