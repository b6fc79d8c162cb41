import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const moduleUrl = new URL('../../src/process/own-environ.ts', import.meta.url).href
const tsxLoader = import.meta.resolve('tsx')

/** A node process that scrubs its own environ and reports what /proc and process.env then hold. */
const script = `
import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
const { scrubOwnEnviron } = await import(${JSON.stringify(moduleUrl)})
const result = scrubOwnEnviron()
const proc = readFileSync('/proc/self/environ', 'latin1').split('\\0').filter((e) => /^(AGW_|HTTPS_PROXY)/.test(e)).sort()
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(AGW_|HTTPS_PROXY)/.test(k)))
const child = execFileSync('sh', ['-c', 'echo "$AGW_TEST_API_KEY"'], { encoding: 'utf8' }).trim()
console.log(JSON.stringify({ result, proc, env, child }))
`

describe('scrubOwnEnviron', () => {
  it("empties secret values in the process's /proc environ block; process.env and children keep them", () => {
    const env = {
      PATH: process.env.PATH,
      AGW_TEST_API_KEY: 'key-value-0123456789',
      AGW_TEST_PLAIN: 'plain-value',
      HTTPS_PROXY: 'http://user:proxy-password-1@127.0.0.1:3128',
    }
    const out = spawnSync(process.execPath, ['--import', tsxLoader, '--input-type=module', '-e', script], {
      env,
      cwd: path.dirname(new URL(import.meta.url).pathname),
      encoding: 'utf8',
    })
    expect(out.status, out.stderr).toBe(0)
    const seen = JSON.parse(out.stdout.trim().split('\n').at(-1)!)
    expect(seen.result.scrubbed.sort()).toEqual(['AGW_TEST_API_KEY', 'HTTPS_PROXY'])
    expect(seen.proc).toEqual(['AGW_TEST_API_KEY=', 'AGW_TEST_PLAIN=plain-value', 'HTTPS_PROXY='])
    expect(seen.env).toEqual({
      AGW_TEST_API_KEY: 'key-value-0123456789',
      AGW_TEST_PLAIN: 'plain-value',
      HTTPS_PROXY: 'http://user:proxy-password-1@127.0.0.1:3128',
    })
    expect(seen.child).toBe('key-value-0123456789')
  })
})
