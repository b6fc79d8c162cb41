import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { expect, it } from 'vitest'

const root = path.resolve(import.meta.dirname, '../..')

/** The pages a newcomer reads to find their way in the code; each file they name must exist. */
const guides = [
  'README.md',
  'docs/ARCHITECTURE.md',
  'docs/OPERATIONS.md',
  'docs/SECURITY.md',
  'docs/agent-stream.md',
]

/** Named on purpose though absent: the file a recipe tells you to create. */
const examples = new Set(['test/integration/foo-driver.test.ts'])

/** Every file of the checkout (no dependencies, no build output), as paths relative to its root. */
function checkoutFiles(dir = root, prefix = ''): string[] {
  const files: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', 'dist', '.git'].includes(entry.name)) continue
    const relative = `${prefix}${entry.name}`
    if (entry.isDirectory())
      files.push(`${relative}/`, ...checkoutFiles(path.join(dir, entry.name), `${relative}/`))
    else files.push(relative)
  }
  return files
}

/**
 * What a page names as a file of this repository: a source, script, style or deployment file (`src/http/app.ts`,
 * `core/run-manager.ts`, `session.ts`, `bench/*.ts`), or a folder under a top-level one (`src/core/ops/`).
 * Matched as a path suffix, so a page may leave out the folders a section already implies. A name that starts
 * with `/` is a URL path the server answers (`/index.html`), not a file.
 */
function namedFiles(text: string): string[] {
  const files = text.match(/[\w./*-]+\.(?:ts|tsx|mjs|sh|css|yaml|html)\b/g) ?? []
  const folders = text.match(/(?<![\w/.])(?:src|web|test|bench|scripts|deploy|docs)\/[\w./-]*\//g) ?? []
  const named = [...files, ...folders].filter((name) => !name.startsWith('/'))
  return [...new Set(named.map((name) => name.replace(/^\.\//, '')))]
}

const asPattern = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '[^/]*')

it('every file and folder README.md and docs/ name exists in the checkout', () => {
  const files = checkoutFiles()
  const missing: string[] = []
  for (const guide of guides) {
    for (const name of namedFiles(readFileSync(path.join(root, guide), 'utf8'))) {
      if (examples.has(name)) continue
      const pattern = new RegExp(`(^|/)${asPattern(name)}$`)
      if (!files.some((file) => pattern.test(file))) missing.push(`${guide}: ${name}`)
    }
  }
  expect(missing).toEqual([])
})

it('every `npm run <script>` README.md and docs/ name is a script of package.json', () => {
  const { scripts } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>
  }
  const missing: string[] = []
  for (const guide of [...guides, 'docs/benchmarks.md', 'docs/events.md'])
    for (const [, script] of readFileSync(path.join(root, guide), 'utf8').matchAll(/npm run ([\w:-]+)/g))
      if (!scripts[script!]) missing.push(`${guide}: npm run ${script}`)
  expect(missing).toEqual([])
})

/** GitHub's anchor of each heading of a Markdown page (code blocks left out), as `#anchor` links name them. */
function headingAnchors(text: string): Set<string> {
  const prose = text.replace(/```[\s\S]*?```/g, '')
  const anchors = new Set<string>()
  for (const [, heading] of prose.matchAll(/^#{1,6} (.+)$/gm))
    anchors.add(
      heading!
        .toLowerCase()
        .replace(/[^\w\- ]/g, '')
        .replaceAll(' ', '-'),
    )
  return anchors
}

it('every #section link of README.md and docs/ names a heading of the page it points into', () => {
  const broken: string[] = []
  for (const guide of [...guides, 'docs/benchmarks.md', 'docs/events.md']) {
    const text = readFileSync(path.join(root, guide), 'utf8')
    for (const [, target, anchor] of text.matchAll(/\]\(([\w./-]*\.md)?#([\w-]+)\)/g)) {
      const page = target ? path.join(path.dirname(path.join(root, guide)), target) : path.join(root, guide)
      if (!headingAnchors(readFileSync(page, 'utf8')).has(anchor!))
        broken.push(`${guide}: ${target ?? ''}#${anchor}`)
    }
  }
  expect(broken).toEqual([])
})

it('no code span in a table row of README.md and docs/ holds an unescaped `|` (it would split the cell)', () => {
  const split: string[] = []
  for (const guide of [...guides, 'docs/benchmarks.md', 'docs/events.md']) {
    const lines = readFileSync(path.join(root, guide), 'utf8').split('\n')
    lines.forEach((line, i) => {
      if (!line.startsWith('|')) return
      for (const [span] of line.replaceAll('\\|', '').matchAll(/`[^`]*`/g))
        if (span.includes('|')) split.push(`${guide}:${i + 1}: ${span}`)
    })
  }
  expect(split).toEqual([])
})
