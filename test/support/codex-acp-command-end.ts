import { expect } from 'vitest'

/**
 * How a codex-acp command item may end. codex-acp sometimes never sends a command's last update (seen under the
 * whole suite's load, also on main before session 25: the prompt answered, the end not there within 10 s, nor within
 * 60 s when the turn waited that long): the gateway then closes the item `failed` with no exit code, as it must. Its
 * output is still whole, which the callers assert.
 */
export function expectCodexAcpCommandEnd(
  item: { status: string; exitCode: number | null } | undefined,
): void {
  expect(item, 'a command item').toBeDefined()
  expect([
    { status: 'completed', exitCode: 0 },
    { status: 'failed', exitCode: null },
  ]).toContainEqual({ status: item!.status, exitCode: item!.exitCode })
}
