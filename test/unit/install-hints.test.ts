import { readFileSync } from 'node:fs'
import path from 'node:path'
import { expect, it } from 'vitest'
import { claudeInstallHint } from '../../src/agents/claude/probe.js'
import { codexInstallHint } from '../../src/agents/codex/probe.js'
import { copilotInstallHint } from '../../src/agents/copilot/env.js'
import { geminiInstallHint } from '../../src/agents/gemini/probe.js'

const pkg = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')) as {
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
}

/** What a 503 agent_not_installed says: the one install command of this project, and the setting that points elsewhere. */
it('each pinned agent CLI missing says `npm ci`, what kind of dependency it is, and its *_PATH setting', () => {
  const hints: [string, string, string][] = [
    [codexInstallHint, '@openai/codex', 'CODEX_PATH'],
    [claudeInstallHint, '@anthropic-ai/claude-code', 'CLAUDE_PATH'],
    [geminiInstallHint, '@google/gemini-cli', 'GEMINI_PATH'],
    [copilotInstallHint, '@github/copilot', 'COPILOT_PATH'],
  ]
  for (const [hint, packageName, setting] of hints) {
    expect(hint, packageName).toContain('run `npm ci`')
    expect(hint, packageName).toContain(setting)
    const dev = packageName in pkg.devDependencies
    expect(dev || packageName in pkg.dependencies, packageName).toBe(true)
    // a dev dependency is not there after `npm ci --omit=dev`: the hint must not promise `npm ci` brings it
    expect(hint.includes(`${packageName} dev dependency; \`--omit=dev\` leaves it out`), packageName).toBe(
      dev,
    )
  }
})
