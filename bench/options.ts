import { readFileSync } from 'node:fs'
import { type ParseArgsConfig, parseArgs } from 'node:util'

/** A bad command-line option of a benchmark: printed as a one-line message, exit code 2. */
export class BenchError extends Error {}

/** An integer option (flag or env value); empty or absent gives `fallback`. */
export function intOption(raw: string | undefined, fallback: number, name: string, minimum = 1): number {
  if (raw === undefined || raw.trim() === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < minimum)
    throw new BenchError(`--${name} must be an integer >= ${minimum}, got "${raw}"`)
  return n
}

/** Repeated `--env NAME=value` options: settings for the measured gateway only. */
export function envOption(pairs: readonly string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {}
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new BenchError(`--env takes NAME=value, got "${pair}"`)
    env[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return env
}

/**
 * `parseArgs` (strict) for a benchmark's command line, with `--help`/`-h` printing the script's own header comment
 * (its usage) and exiting 0, and an unknown or malformed option printing what was wrong and that usage, exit 2.
 */
export function benchArgs<T extends ParseArgsConfig>(config: T): ParsedResults<T> {
  const args = config.args ?? process.argv.slice(2)
  if (args.some((a) => a === '--help' || a === '-h')) {
    console.log(scriptHeader())
    process.exit(0)
  }
  try {
    return parseArgs(config)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? ''
    if (!code.startsWith('ERR_PARSE_ARGS_')) throw err
    console.error(`${(err as Error).message}\n\n${scriptHeader()}`)
    process.exit(2)
  }
}

type ParsedResults<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>

/** The leading block comment of the script being run, without its comment marks. */
function scriptHeader(): string {
  const script = process.argv[1]
  const text = script ? readFileSync(script, 'utf8') : ''
  const block = /^(?:#![^\n]*\n)?\s*\/\*\*?([\s\S]*?)\*\//.exec(text)?.[1] ?? ''
  return block
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim()
}
