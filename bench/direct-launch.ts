import type { RunningServer } from '../src/http/server.js'
import { KeyedRunner } from '../src/process/key-proxy/keyed-runner.js'

/**
 * A driver's argv and env for the direct CLI baseline, as a user runs it: the real key and endpoint. With the key
 * proxy (MODEL_KEY_PROXY) the gateway's drivers write placeholders its runner fills in at start.
 */
export function asUserRunsIt<T extends { args: string[]; env: Record<string, string> }>(
  server: RunningServer,
  launch: T,
): T {
  const runner = server.ctx.registry.runner
  if (!(runner instanceof KeyedRunner)) return launch
  const fill = (s: string) => runner.withRealKeys(s)
  return {
    ...launch,
    args: launch.args.map(fill),
    env: Object.fromEntries(Object.entries(launch.env).map(([k, v]) => [k, fill(v)])),
  }
}
