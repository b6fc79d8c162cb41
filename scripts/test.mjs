#!/usr/bin/env node
// `npm test`: the static checks (`npm run typecheck`, `typecheck:web`, `lint`) and `vitest run` at the same time.
// The checks run one after another beside vitest, at a lower CPU priority (nice 10): they take the CPU the tests
// leave idle instead of holding up their start by ~50 s of a single core (docs/benchmarks.md, session 27). Their
// output is kept and printed whole once each ends (a failing one at once, so it does not wait for the tests), and
// a summary line each after vitest's. The exit code is vitest's, or 1 when a check failed.
// Arguments go to vitest: `npm test -- test/unit/foo.test.ts`.
import { spawn, spawnSync } from 'node:child_process'

const checks = ['typecheck', 'typecheck:web', 'lint']
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const nice = spawnSync('nice', ['-n', '0', 'true']).status === 0

const children = new Set()
function run(command, args, options) {
  const child = spawn(command, args, options)
  children.add(child)
  const done = new Promise((resolve) => {
    child.once('error', (err) => resolve({ code: 1, error: err }))
    child.once('close', (code, signal) => resolve({ code: code ?? 1, signal }))
  }).finally(() => children.delete(child))
  return { child, done }
}

// a signal (Ctrl-C, a CI timeout) ends the checks and vitest too
for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, () => {
    for (const child of children) {
      try {
        // a check's whole group (npm, the shell, the checker)
        process.kill(checkGroups.has(child) ? -child.pid : child.pid, signal)
      } catch {}
    }
    process.exitCode = 130
  })

const results = []
/** The checks' process groups. */
const checkGroups = new Set()
/** The check running now. */
let checking
/** Checks run at nice 10 while vitest runs, at the usual priority after. */
let testsRunning = true
const checksDone = (async () => {
  for (const name of checks) {
    const started = Date.now()
    const [command, args] =
      nice && testsRunning
        ? ['nice', ['-n', '10', npm, 'run', '--silent', name]]
        : [npm, ['run', '--silent', name]]
    // a process group of its own: put back to the usual priority as a whole once vitest is done
    const { child, done } = run(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    checking = child
    checkGroups.add(child)
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    const { code, error } = await done
    const seconds = ((Date.now() - started) / 1000).toFixed(1)
    const result = {
      name,
      ok: code === 0,
      line: `npm run ${name}: ${code === 0 ? 'ok' : `failed (exit ${code})`} in ${seconds} s`,
    }
    results.push(result)
    if (!result.ok) process.stdout.write(`\n${result.line}:\n${output}${error ? `${error.message}\n` : ''}\n`)
  }
})()

const vitest = run(npm, ['exec', '--', 'vitest', 'run', ...process.argv.slice(2)], { stdio: 'inherit' })
const { code: vitestCode } = await vitest.done
testsRunning = false
// nothing left to leave the CPU to (lowering a niceness needs root: else the check goes on at nice 10)
if (nice && checking?.exitCode === null)
  spawnSync('renice', ['-n', '0', '-g', String(checking.pid)], { stdio: 'ignore' })
await checksDone
process.stdout.write(`\n${results.map((r) => r.line).join('\n')}\n`)
const failed = results.filter((r) => !r.ok)
process.exitCode ||= vitestCode !== 0 ? vitestCode : failed.length > 0 ? 1 : 0
