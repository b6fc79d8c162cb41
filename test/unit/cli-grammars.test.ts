import { describe, expect, it } from 'vitest'
import { checkRunArgs } from '../../src/process/policy.js'
import { AppError } from '../../src/protocol/errors.js'

/**
 * POST /run's grammars of the pinned claude (2.1.330), gemini (0.61) and copilot (1.0.102): each walks argv as
 * the CLI's own parser does (commander, yargs-parser, clap) and passes only the options it lists. Before, these
 * CLIs had a denylist of bypass spellings and every other option passed (`--add-dir`, `--mcp-config`, `-C` ...).
 */
function refusal(cli: string, args: string[]): string {
  try {
    checkRunArgs(cli, args, false)
  } catch (err) {
    expect(err).toBeInstanceOf(AppError)
    expect((err as AppError).code).toBe('forbidden_argument')
    expect((err as AppError).message).toContain('RUN_ALLOW_UNSAFE_ARGS=true')
    return (err as AppError).message
  }
  throw new Error(`${cli} ${JSON.stringify(args)} was allowed`)
}

const allowed = (cli: string, args: string[]) => expect(() => checkRunArgs(cli, args, false)).not.toThrow()

describe('claude grammar (commander)', () => {
  it.each<[string[], string]>([
    [['-p', 'hi', '--add-dir', '/etc'], 'outside the workspace'],
    [['-p', 'hi', '--add-dir=/etc'], 'outside the workspace'],
    [['-p', 'hi', '--mcp-config', '{"mcpServers":{}}'], 'MCP servers'],
    [['-p', 'hi', '--plugin-dir', '/tmp/p'], 'plugins'],
    [['-p', 'hi', '--plugin-url', 'http://127.0.0.1/p.zip'], 'plugins'],
    [['-p', 'hi', '--agents', '{}'], 'agents'],
    [['-p', 'hi', '--agent', 'x'], 'state beyond this run'],
    [['-p', 'hi', '--debug-file', '/tmp/log'], 'outside the workspace'],
    [['-p', 'hi', '--file', 'f_1:x'], 'outside the workspace'],
    [['-p', 'hi', '--settings', '{}'], 'settings'],
    [['-p', 'hi', '--allowedTools', 'Bash'], 'without approval'],
    [['-p', 'hi', '--dangerously-skip-permissions'], 'sandbox or approvals'],
    [['-p', 'hi', '--allow-dangerously-skip-permissions'], 'sandbox or approvals'],
    [['-p', 'hi', '--permission-mode', 'bypassPermissions'], 'takes only'],
    [['-p', 'hi', '--permission-mode=auto'], 'takes only'],
    [['-p', 'hi', '--tools', 'Bash'], 'tools'],
    [['-p', 'hi', '--betas', 'x'], 'provider'],
    [['-c', '-p', 'hi'], 'another session'],
    [['-p', 'hi', '--resume', 'abc'], 'another session'],
    [['-p', 'hi', '-r'], 'another session'],
    [['-p', 'hi', '--session-id', '0cb916db-26aa-40f2-86b5-1ba81b225fd2'], 'another session'],
    [['-p', 'hi', '--fork-session'], 'another session'],
    [['-p', 'hi', '--bg'], 'after the run'],
    [['-p', 'hi', '-w'], 'worktree'],
    [['-p', 'hi', '--setting-sources', 'user,flag'], 'workspace’s own Claude Code settings'],
    // CLAUDE_WORKSPACE_SETTINGS off (the default): the gateway gives `user` itself, a request may say only that
    [['-p', 'hi', '--setting-sources', 'project'], 'CLAUDE_WORKSPACE_SETTINGS=false'],
    [['-p', 'hi', '--setting-sources=user,local'], 'CLAUDE_WORKSPACE_SETTINGS=false'],
    [['-p', 'hi', '--sdk-url', 'ws://127.0.0.1:1'], 'no option --sdk-url'],
    [['-p', 'hi', '--no-such-flag'], 'no option --no-such-flag'],
    [['-p', 'hi', '--verbose=1'], 'takes no value'],
    // commander reads what follows a short flag as `-<rest>`: `-p-add-dir` is `-p --add-dir`
    [['-p-add-dir', '/etc', 'hi'], 'outside the workspace'],
    [['-pc', 'hi'], 'another session'],
    [['-px', 'hi'], 'no option -x'],
    // a first operand naming a subcommand runs it, hidden ones and background verbs included
    [['-p', 'mcp'], 'subcommand'],
    [['--model', 'opus', 'update'], 'subcommand'],
    [['rc'], 'subcommand'],
    [['stop', 'abcdef12'], 'subcommand'],
    [['--', 'plugin'], 'subcommand'],
    [['-p', 'some-new-command'], 'subcommand'],
    // Claude Code scans argv for some exact tokens itself: nothing may look like an option where it is a value
    [['-p', '--', '--ignore-persisted-trust'], 'starts with `-`'],
    [['-p', 'hi', '--system-prompt', '--settings={}'], 'starts with `-`'],
    [['-p', 'hi', '--model'], 'needs a value'],
  ])('refuses %j (%s)', (args, why) => {
    expect(refusal('claude', args)).toContain(why)
  })

  it.each<[string[]]>([
    [['-p', 'hi']],
    [['--print', 'hi', '--output-format', 'stream-json', '--verbose', '--include-partial-messages']],
    [['-p', 'hi', '--output-format=json', '--model', 'sonnet', '--fallback-model', 'haiku']],
    [['-p', 'hi', '--permission-mode', 'dontAsk']],
    [['-p', 'hi', '--permission-mode=acceptEdits']],
    [['-p', 'hi', '--permission-mode', 'plan', '--permission-prompts', 'none']],
    [['-p', 'hi', '--setting-sources', 'user', '--strict-mcp-config']],
    [['-p', 'hi', '--disallowed-tools', 'Bash', 'WebFetch']],
    [['-p', '--disallowedTools', 'Bash', 'mcp']], // the list takes `mcp`: no operand
    [['-p', 'hi', '--system-prompt', 'be brief', '--append-system-prompt', 'and kind']],
    [['-p', 'hi', '--max-turns', '3', '--max-budget-usd', '0.5', '--effort', 'low']],
    [['-p', 'hi', '--json-schema', '{"type":"object"}']],
    [['-p', 'hi', '--safe-mode', '--bare', '--restricted', '--no-session-persistence']],
    [['-p', 'hi', '-n', 'named', '-nother']],
    [['-d', 'mcp', '-p', 'hi']], // `[filter]` takes `mcp`
    [['-p', 'hi', '--debug=api']],
    [['-pd', 'hi']],
    [['-p', 'login']], // `login` is `auth login`, not a command of its own: a prompt
    [['-p', '--', 'hi there']],
    [['-p', '-']],
    [['--version']],
    [['-v']],
    [['-h']],
  ])('allows %j', (args) => {
    allowed('claude', args)
  })

  it('CLAUDE_WORKSPACE_SETTINGS=true: any setting sources Claude Code knows', () => {
    const trusted = (args: string[]) => () =>
      checkRunArgs('claude', args, false, { claudeWorkspaceSettings: true })
    expect(trusted(['-p', 'hi', '--setting-sources', 'user,project,local'])).not.toThrow()
    expect(trusted(['-p', 'hi', '--setting-sources=project'])).not.toThrow()
    expect(trusted(['-p', 'hi', '--setting-sources', 'user,flag'])).toThrow(/takes only/)
  })
})

describe('gemini grammar (yargs)', () => {
  it.each<[string[], string]>([
    [['-p', 'hi', '-y'], 'sandbox or approvals'],
    [['-sy', '-p', 'hi'], 'sandbox or approvals'],
    [['-p', 'hi', '--approval-mode', 'yolo'], 'takes only'],
    [['-p', 'hi', '--approvalMode=yolo'], 'takes only'],
    [['-p', 'hi', '--allowed-tools', 'run_shell_command'], 'without approval'],
    [['-p', 'hi', '--policy', 'allow.toml'], 'without approval'],
    [['-p', 'hi', '--include-directories', '/etc'], 'outside the workspace'],
    [['-p', 'hi', '--includeDirectories=/etc'], 'outside the workspace'],
    [['-p', 'hi', '-e', 'x'], 'extensions'],
    [['-p', 'hi', '--extensions=x'], 'extensions'],
    [['-p', 'hi', '--skip-trust'], 'workspace'],
    [['-p', 'hi', '-r', 'latest'], 'another session'],
    [['-p', 'hi', '--session-file', '/tmp/s.json'], 'another session'],
    [['-p', 'hi', '--delete-session', '1'], 'another session'],
    [['-i', 'hi'], 'interactive'],
    [['--acp'], 'ACP'],
    [['-p', 'hi', '-w'], 'worktree'],
    [['-p', 'hi', '--fake-responses', '/tmp/r'], 'outside the workspace'],
    [['-p', 'hi', '--record-responses=/tmp/r'], 'outside the workspace'],
    [['-p', 'hi', '--isCommand'], 'Gemini CLI'],
    [['-p', 'hi', '--no-yolo'], 'no option --no-yolo'],
    [['-p', 'hi', '--bogus'], 'no option --bogus'],
    [['-p', 'hi', '-x'], 'no option -x'],
    [['-mgemini-2.5-flash', '-p', 'hi'], 'one by one'],
    [['-pm', 'x'], 'takes a value'],
    [['-p', '-y'], 'needs a value'],
    [['mcp', 'list'], 'subcommand'],
    [['-s', 'mcp'], 'subcommand'], // yargs finds the subcommand with the root's options: `-s` takes `mcp` there
    [['-p', 'hi', 'extensions'], 'subcommand'],
    [['--', 'skills'], 'subcommand'],
  ])('refuses %j (%s)', (args, why) => {
    expect(refusal('gemini', args)).toContain(why)
  })

  it.each<[string[]]>([
    [['-p', 'hi']],
    [['--prompt=hi', '-o', 'stream-json', '-m', 'gemini-2.5-flash']],
    [['-p', 'hi', '--approval-mode', 'default']],
    [['-p', 'hi', '--approval-mode=plan', '--outputFormat=json']],
    [['-p', 'hi', '--allowed-mcp-server-names', 'none']],
    [['-ds', '-p', 'hi']],
    [['-dp', 'hi']],
    [['-m=gemini-2.5-flash', '-p', 'hi']],
    [['-d', 'true', '-p', 'hi']],
    [['--no-debug', '-p', 'hi']],
    [['-p', '-']],
    [['hello', 'world']],
    [['-p', 'mcp']], // a value, not a positional
    [['--version']],
    [['-h']],
  ])('allows %j', (args) => {
    allowed('gemini', args)
  })
})

describe('copilot grammar (clap)', () => {
  it.each<[string[], string]>([
    [['-p', 'hi', '-C', '/etc'], 'outside the workspace'],
    [['-p', 'hi', '-C/etc'], 'outside the workspace'],
    [['-sC/etc', '-p', 'hi'], 'outside the workspace'],
    [['-p', 'hi', '--add-dir', '/etc'], 'outside the workspace'],
    [['-p', 'hi', '--log-dir=/tmp/l'], 'outside the workspace'],
    [['-p', 'hi', '--share', '/tmp/s.md'], 'outside the workspace'],
    [['-p', 'hi', '--attachment', '/etc/passwd'], 'outside the workspace'],
    [['-p', 'hi', '--usage-output-file', '/tmp/u'], 'outside the workspace'],
    [['-p', 'hi', '--plugin-dir', '/tmp/p'], 'plugins'],
    [['-p', 'hi', '--additional-mcp-config', '@/tmp/m.json'], 'MCP servers'],
    [['-p', 'hi', '--enable-mcp-server', 'x'], 'MCP servers'],
    [['-p', 'hi', '--allow-tool', 'shell'], 'without approval'],
    [['-p', 'hi', '--allow-tool=shell'], 'without approval'],
    [['-p', 'hi', '--allow-url', 'example.com'], 'URLs'],
    [['-p', 'hi', '--allow-all-tools'], 'sandbox or approvals'],
    [['-p', 'hi', '--yolo'], 'sandbox or approvals'],
    [['-p', 'hi', '--available-tools', 'shell'], 'tools'],
    [['-p', 'hi', '--trust-folder'], 'workspace'],
    [['-p', 'hi', '--resume'], 'another session'],
    [['-p', 'hi', '-r', 'abc'], 'another session'],
    [['-p', 'hi', '--continue'], 'another session'],
    [['-p', 'hi', '--agent', 'x'], 'state beyond this run'],
    [['-p', 'hi', '--bash-env', 'on'], 'BASH_ENV'],
    [['-p', 'hi', '--share-gist'], 'gist'],
    [['-i', 'hi'], 'interactive'],
    [['-p', 'hi', '--mode', 'x'], 'takes only'],
    [['-p', 'hi', '--Model=x'], 'no option --Model'],
    [['-p', 'hi', '--mod=x'], 'no option --mod'],
    [['-p', 'hi', '-x'], 'no option -x'],
    [['-p', '--yolo'], 'needs a value'],
    [['-p', 'hi', '--silent=true'], 'takes no value'],
    [['mcp', 'list'], 'subcommand'],
    [['-p', 'hi', '--deny-tool=shell', 'mcp'], 'subcommand'], // after `=` the list takes no more
    [['-p', 'hi', '--', 'x'], 'after `--`'],
    [['help', '--yolo'], 'takes no option'],
  ])('refuses %j (%s)', (args, why) => {
    expect(refusal('copilot', args)).toContain(why)
  })

  it.each<[string[]]>([
    [['-p', 'hi']],
    [['-p=hi', '-s']],
    [['-phi']],
    [['-sp', 'hi', '--model', 'gpt-5.5', '--output-format', 'json', '--stream', 'off']],
    [['-p', 'hi', '--deny-tool', 'shell', 'write', '--excluded-tools=web_fetch']],
    [['-p', 'hi', '--deny-tool', 'shell', 'mcp']], // the list takes `mcp`
    [
      [
        '-p',
        'hi',
        '--no-color',
        '--no-custom-instructions',
        '--disable-builtin-mcps',
        '--log-level',
        'debug',
      ],
    ],
    [['-p', 'hi', '--mode', 'plan', '--secret-env-vars=MY_KEY,OTHER']],
    [['-p', '-']],
    [['--version']],
    [['help', 'environment']],
    [['version']],
  ])('allows %j', (args) => {
    allowed('copilot', args)
  })
})

describe('the grammars and RUN_ALLOW_UNSAFE_ARGS', () => {
  it.each([
    ['claude', ['-p', 'hi', '--add-dir', '/etc']],
    ['gemini', ['-p', 'hi', '--include-directories', '/etc']],
    ['copilot', ['-p', 'hi', '-C', '/etc']],
  ])('%s %j passes when the operator allows unsafe args', (cli, args) => {
    expect(() => checkRunArgs(cli, args, true)).not.toThrow()
  })

  it('reads a path to a pinned CLI with its grammar, and leaves another program to the generic checks', () => {
    expect(refusal('/usr/local/bin/claude', ['-p', 'hi', '--add-dir', '/etc'])).toContain('workspace')
    allowed('my-tool', ['--add-dir', '/etc', '-C', '/'])
    expect(refusal('my-tool', ['--dangerously-anything'])).toContain('sandbox or approvals')
  })
})
