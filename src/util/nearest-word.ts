/**
 * Edit distance between two short strings (field names): insertions, deletions, substitutions and swaps of two
 * neighbouring letters, one each (optimal string alignment).
 */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  const at = (i: number, j: number) => d[i]?.[j] ?? 0
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1)
      d[i]![j] = best
    }
  return at(a.length, b.length)
}

/**
 * The known word a mistyped one most likely meant: the nearest by edit distance (case ignored), if it is
 * within a third of the word's length (at least 1, at most 3); none when nothing is that close.
 */
export function nearestWord(typed: string, known: readonly string[]): string | undefined {
  const limit = Math.min(3, Math.max(1, Math.floor(typed.length / 3)))
  let best: { word: string; distance: number } | undefined
  for (const word of known) {
    const distance = editDistance(typed.toLowerCase(), word.toLowerCase())
    if (distance <= limit && (!best || distance < best.distance)) best = { word, distance }
  }
  return best?.word
}
