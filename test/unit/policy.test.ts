import { describe, expect, it } from 'vitest'
import { checkRunArgs, checkRunEnv } from '../../src/process/policy.js'
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
    [['exec', '-c']],
  ])('refuses %j', (args) => {
    const err = expectArgsRefused(args)
    expect(err.message).toContain('only model settings')
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
    [['exec', 'resume', '--last']],
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

  it.each([[[]], [['--json']], [['-m', 'gpt-5']]])('refuses %j without a subcommand', (args) => {
    const err = expectArgsRefused(args)
    expect(err.message).toContain('exec')
  })

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

  it.each(['OPENAI_API_KEY', 'FOO', '_X1', 'PATHS', 'MY_HOME'])('allows %s', (name) => {
    expect(() => checkRunEnv({ [name]: 'x' }, [])).not.toThrow()
  })

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
