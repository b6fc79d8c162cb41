import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import { consoleDir } from '../../src/http/console.js'

const root = path.resolve(import.meta.dirname, '../..')

/** Debian's Chromium (Playwright's own download cannot work offline); .ci/run installs it when missing. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  })
}

/** The console as `npm ci` builds it; built here when a checkout has not built it yet. */
export function ensureConsoleBuilt(): void {
  if (existsSync(path.join(consoleDir, 'index.html'))) return
  execFileSync(process.execPath, [path.join(root, 'scripts/build-web.mjs')], { cwd: root, stdio: 'inherit' })
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

interface AxeViolation {
  id: string
  impact: string | null
  help: string
  nodes: { target: unknown[] }[]
}

/**
 * Runs axe-core in the page (WCAG 2 A/AA rules) and returns the serious and critical violations. axe is added
 * once per document (a view reached by its hash keeps it: adding its 500 KB again cost as much as the run).
 */
export async function seriousA11yViolations(page: Page): Promise<string[]> {
  if (await page.evaluate('typeof globalThis.axe === "undefined"'))
    await page.addScriptTag({ content: axeSource })
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: AxeViolation[] }> }
      }
    ).axe
    const result = await axe.run((globalThis as unknown as { document: unknown }).document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice'] },
      // the violations in full; the passes, incomplete and inapplicable checks (unread here) summarised only
      resultTypes: ['violations'],
    })
    return result.violations
  })
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`)
}

/** Saves a screenshot under docs/screenshots when SCREENSHOTS=1 (how the README's pictures are made). */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOTS !== '1') return
  const dir = path.join(root, 'docs/screenshots')
  mkdirSync(dir, { recursive: true })
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true })
}

/**
 * What makes the current view hard to use on a phone: the page scrolling sideways, a word of a label, button or
 * heading broken across lines (a squeezed label reads "Stat us"), and a control smaller than WCAG 2.5.8's 24 x 24
 * CSS pixels (a checkbox inside its label counts as the label). Runs in the page as source text: the test
 * TypeScript has no DOM types.
 */
export function phoneLayoutProblems(page: Page): Promise<string[]> {
  return page.evaluate(`(() => {
    const problems = []
    const root = document.documentElement
    if (root.scrollWidth > root.clientWidth)
      problems.push('the page scrolls sideways by ' + (root.scrollWidth - root.clientWidth) + ' px')
    const shown = (el) => {
      const box = el.getBoundingClientRect()
      return box.width > 1 && box.height > 1 && !el.closest('.skip, .sr-only')
    }
    const name = (el) => el.tagName.toLowerCase() + ' "' + (el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 40) + '"'
    for (const el of document.querySelectorAll('label, button, summary, nav a, .links a, dt, th, h2, legend')) {
      if (!shown(el)) continue
      const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT)
      for (let text = walker.nextNode(); text; text = walker.nextNode()) {
        if (text.parentElement.closest('select, textarea, option')) continue
        for (const word of text.data.matchAll(/\\S+/g)) {
          const range = document.createRange()
          range.setStart(text, word.index)
          range.setEnd(text, word.index + word[0].length)
          if (range.getClientRects().length > 1) problems.push('the word "' + word[0] + '" of ' + name(el) + ' is broken across lines')
        }
      }
    }
    const targets = 'button, select, textarea, input:not([type=hidden]), summary, nav a, .links a, label:has(input[type=checkbox], input[type=radio])'
    for (const el of document.querySelectorAll(targets)) {
      if (!shown(el) || (el.matches('input') && el.closest('label'))) continue
      const box = el.getBoundingClientRect()
      if (box.width < 24 || box.height < 24)
        problems.push(name(el) + ' is ' + Math.round(box.width) + ' x ' + Math.round(box.height) + ' px, under 24 x 24')
    }
    return problems
  })()`)
}
