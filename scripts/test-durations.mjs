#!/usr/bin/env node
// Refreshes test/support/durations.json, how long each test file took (ms), which the suite's sequencer
// (test/support/duration-sequencer.ts) reads to start the longest files first:
//   node scripts/test-durations.mjs               runs the whole suite with scripts/durations-reporter.mjs
//                                                 (each file's whole cost: import, hooks and tests)
//   node scripts/test-durations.mjs <filters>     the same for the files vitest's filters select (a new file)
//   node scripts/test-durations.mjs report.json   from that reporter's output, or from a report of
//                                                 `vitest run --reporter=json --outputFile=…` (its span runs
//                                                 from a file's first test to its last: hooks before are left out)
// Files in the report get their new duration, the others keep theirs; files that no longer exist are dropped.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const root = path.resolve(import.meta.dirname, '..')
const durationsFile = path.join(root, 'test/support/durations.json')

const args = process.argv.slice(2)
const given = args.length === 1 && args[0].endsWith('.json') ? args[0] : undefined
let report = given
let scratch
if (!report) {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'agw-durations-'))
  report = path.join(scratch, 'durations.json')
  // a failing test still reports its file's duration
  spawnSync(
    'npx',
    ['vitest', 'run', '--reporter=dot', '--reporter=./scripts/durations-reporter.mjs', ...args],
    { cwd: root, stdio: 'inherit', env: { ...process.env, AGW_DURATIONS_OUT: report } },
  )
}
if (!existsSync(report)) {
  console.error(`test-durations: no report at ${report}`)
  process.exit(1)
}
const parsed = JSON.parse(readFileSync(report, 'utf8'))
if (scratch) rmSync(scratch, { recursive: true, force: true })
const measured = parsed.testResults
  ? parsed.testResults.map((file) => [path.relative(root, file.name), file.endTime - file.startTime])
  : Object.entries(parsed)

const durations = existsSync(durationsFile) ? JSON.parse(readFileSync(durationsFile, 'utf8')) : {}
for (const [file, ms] of measured) {
  // rounded to 100 ms: a refresh should not rewrite every line for noise
  durations[file.split(path.sep).join('/')] = Math.max(100, Math.round(ms / 100) * 100)
}
const kept = Object.keys(durations)
  .filter((name) => existsSync(path.join(root, name)))
  .sort()
writeFileSync(
  durationsFile,
  `${JSON.stringify(Object.fromEntries(kept.map((n) => [n, durations[n]])), null, 2)}\n`,
)
console.log(`test-durations: ${kept.length} files in ${path.relative(root, durationsFile)}`)
