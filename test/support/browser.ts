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
 * once per document (a view reached by its hash keeps it: adding its 500 KB again cost as much as the run), as a
 * script evaluated by the DevTools protocol: the console's Content-Security-Policy refuses an inline `<script>`.
 */
export async function seriousA11yViolations(page: Page): Promise<string[]> {
  if (await page.evaluate('typeof globalThis.axe === "undefined"')) await page.evaluate(axeSource)
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

/**
 * Saves a screenshot under docs/screenshots when SCREENSHOTS=1 (how the README's pictures are made): the whole page,
 * or with `screen` what the screen shows (a phone's view of a long page, its bars where they stick).
 */
export async function screenshot(page: Page, name: string, { screen = false } = {}): Promise<void> {
  if (process.env.SCREENSHOTS !== '1') return
  const dir = path.join(root, 'docs/screenshots')
  mkdirSync(dir, { recursive: true })
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: !screen })
}

/**
 * What makes the current view hard to use on a phone: the page scrolling sideways, a word of a label, button,
 * heading or fact (not code: an id or a path breaks where it must) broken across lines (a squeezed label reads
 * "Stat us"), and a control smaller than WCAG 2.5.8's 24 x 24 CSS pixels, or 44 x 44 on a touch screen (WCAG
 * 2.5.5: a finger; the page's pointer is coarse) (a checkbox inside its label counts as the label; a card's links count,
 * an approval's link to its session among them), and a select too
 * narrow to show its choice whole. Runs in the page as source text: the test
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
    for (const el of document.querySelectorAll('label, button, summary, nav a, .links a, dt, dd, th, h2, legend')) {
      if (!shown(el)) continue
      const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT)
      for (let text = walker.nextNode(); text; text = walker.nextNode()) {
        // an id, a path or a command breaks where it must; a word of prose must not
        if (text.parentElement.closest('select, textarea, option, code, pre')) continue
        for (const word of text.data.matchAll(/\\S+/g)) {
          const range = document.createRange()
          range.setStart(text, word.index)
          range.setEnd(text, word.index + word[0].length)
          if (range.getClientRects().length > 1) problems.push('the word "' + word[0] + '" of ' + name(el) + ' is broken across lines')
        }
      }
    }
    const targets = 'button, select, textarea, input:not([type=hidden]), summary, nav a, .links a, .card a, label:has(input[type=checkbox], input[type=radio])'
    // a finger needs 44 x 44 (a touch screen: the pointer is coarse), a mouse 24 x 24
    const least = matchMedia('(pointer: coarse)').matches ? 44 : 24
    for (const el of document.querySelectorAll(targets)) {
      if (!shown(el) || (el.matches('input') && el.closest('label'))) continue
      const box = el.getBoundingClientRect()
      if (box.width < least - 0.5 || box.height < least - 0.5)
        problems.push(name(el) + ' is ' + Math.round(box.width) + ' x ' + Math.round(box.height) + ' px, under ' + least + ' x ' + least)
    }
    // a select shows its choice whole: one as wide as that choice alone needs (a copy, its width not set) is no
    // wider ("steer the running turn" squeezed read "steer the runn")
    for (const el of document.querySelectorAll('select')) {
      if (!shown(el) || el.selectedIndex < 0) continue
      const copy = document.createElement('select')
      copy.className = el.className
      copy.append(el.options[el.selectedIndex].cloneNode(true))
      copy.style.cssText = 'position:absolute;visibility:hidden;width:auto;min-width:0;max-width:none;flex:none'
      el.parentElement.append(copy)
      const needed = copy.getBoundingClientRect().width
      copy.remove()
      const has = el.getBoundingClientRect().width
      if (has < needed - 0.5)
        problems.push('select "' + (el.labels[0]?.firstChild?.textContent || el.name).trim() + '" shows "' + el.options[el.selectedIndex].text + '" cut off: ' + Math.round(has) + ' px of ' + Math.round(needed))
    }
    return problems
  })()`)
}

/** The roles a person operates: each needs a name a screen reader can say. */
const operatedRoles = new Set([
  'button',
  'link',
  'textbox',
  'combobox',
  'checkbox',
  'radio',
  'listbox',
  'menuitem',
  'tab',
  'switch',
  'DisclosureTriangle',
])

/**
 * What keeps the current view from being used with a keyboard alone: a control (a link, button, field, summary,
 * or a region that scrolls sideways) that Tab never reaches, one that Tab reaches without a visible focus
 * indicator, and a control without an accessible name (Chromium's own accessibility tree, as a screen reader
 * reads it). Tabs through the whole page from its start; leaves the focus where it was not (on the page's end). A
 * control that went during the walk (or was hidden) is not counted as never reached.
 */
export async function keyboardProblems(page: Page): Promise<string[]> {
  const problems: string[] = []
  const cdp = await page.context().newCDPSession(page)
  try {
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as {
      nodes: {
        ignored: boolean
        role?: { value: string }
        name?: { value: string }
        backendDOMNodeId?: number
      }[]
    }
    for (const n of nodes) {
      const role = n.role?.value ?? ''
      if (n.ignored || !operatedRoles.has(role) || (n.name?.value ?? '').trim()) continue
      const described = n.backendDOMNodeId
        ? (
            (await cdp.send('DOM.describeNode', { backendNodeId: n.backendDOMNodeId })) as {
              node: { localName: string; attributes?: string[] }
            }
          ).node
        : undefined
      problems.push(
        `a ${role} without an accessible name (${described?.localName ?? '?'} ${described?.attributes?.join(' ') ?? ''})`,
      )
    }
  } finally {
    await cdp.detach()
  }
  // every control a keyboard should reach, tagged; a sentinel first in the page is where Tab starts; each Tab
  // pressed records, before it moves the focus, where the focus is (the stop the previous Tab reached)
  const controls = (await page.evaluate(`(() => {
    const shown = (el) => el.getClientRects().length > 0 && el.checkVisibility({ visibilityProperty: true, contentVisibilityAuto: true })
    const name = (el) => el.tagName.toLowerCase() + ' "' + (el.getAttribute('aria-label') || el.textContent || el.getAttribute('placeholder') || '').trim().replace(/\\s+/g, ' ').slice(0, 40) + '"'
    const found = []
    const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex="-1"])'
    for (const el of document.querySelectorAll(selector))
      if (shown(el) && !el.disabled && !el.closest('[inert]')) found.push(el)
    // a region that scrolls sideways must be reachable itself or through a control inside it
    for (const el of document.querySelectorAll('body *')) {
      const x = getComputedStyle(el).overflowX
      if ((x === 'auto' || x === 'scroll') && el.scrollWidth > el.clientWidth + 1 && shown(el) && !found.some((c) => el.contains(c)))
        found.push(el)
    }
    found.forEach((el, i) => el.setAttribute('data-kb', String(i)))
    const start = document.createElement('span')
    start.tabIndex = 0
    start.id = 'kb-start'
    document.body.prepend(start)
    start.focus()
    // the control the last stop found: one removed or disabled while focused leaves the focus on the page for a
    // moment (the view's focus rescue runs a task later, and Tab goes on from where it was): a lost stop, not the end
    let last = null
    const at = () => {
      const el = document.activeElement
      if (!el || el === document.body || el.id === 'kb-start') {
        const lost = last && (!last.isConnected || last.disabled === true)
        return lost ? { index: null, indicated: true, lost: name(last) } : null
      }
      last = el
      const style = getComputedStyle(el)
      const indicated = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none'
      return { index: el.getAttribute('data-kb'), indicated, name: el.tagName.toLowerCase() + ' "' + (el.textContent || '').trim().slice(0, 40) + '"' }
    }
    const seen = []
    const onKey = (e) => { if (e.key === 'Tab') seen.push(at()) }
    window.addEventListener('keydown', onKey, true)
    // a control gone meanwhile ("New output" once the walk's focus scrolled the view to its end) was not missed
    const present = () => found.map((el) => el.isConnected && shown(el))
    globalThis.__kbWalk = { at, seen, present, stop: () => window.removeEventListener('keydown', onKey, true) }
    return found.map(name)
  })()`)) as string[]
  const reached = new Set<number>()
  let present: boolean[] = []
  type Stop = { index: string | null; indicated: boolean; name: string; lost?: string } | null
  // why the walk ended, told with the controls it never reached
  let ended = 'it ran out of presses'
  try {
    // Tab is pressed in batches (as many as the walk should take, then a few more until it ends), the stops read
    // once a batch: where each press's keydown found the focus (the first, the sentinel, is the batch before's
    // last) and where the batch's last press left it. Each stop is checked, in order, as before.
    let pressed = 0
    let previous = 'the start'
    walk: for (let batch = controls.length + 1; pressed < controls.length + 50; batch = 8) {
      for (let i = 0; i < batch; i++) await page.keyboard.press('Tab')
      pressed += batch
      const { seen, current } = (await page.evaluate(
        '({ seen: globalThis.__kbWalk.seen.splice(0), current: globalThis.__kbWalk.at() })',
      )) as { seen: Stop[]; current: Stop }
      for (const at of [...seen.slice(1), current]) {
        if (!at) {
          ended = `the focus left the controls after ${previous}`
          break walk
        }
        if (at.lost) {
          previous = `${at.lost} (lost the focus: removed or disabled)`
          continue
        }
        if (at.index !== null) {
          if (reached.has(Number(at.index))) {
            ended = `Tab came back to ${at.name} after ${previous}`
            break walk
          }
          reached.add(Number(at.index))
        }
        previous = at.name
        if (!at.indicated) problems.push(`${at.name} is focused without a visible focus indicator`)
      }
    }
    present = (await page.evaluate('globalThis.__kbWalk.present()')) as boolean[]
  } finally {
    await page.evaluate(`(() => {
      globalThis.__kbWalk?.stop()
      delete globalThis.__kbWalk
      document.getElementById('kb-start')?.remove()
      for (const el of document.querySelectorAll('[data-kb]')) el.removeAttribute('data-kb')
    })()`)
  }
  controls.forEach((name, i) => {
    if (!reached.has(i) && present[i])
      problems.push(`${name} is never reached by Tab (the walk ended: ${ended})`)
  })
  return problems
}

/** A node as Chromium's accessibility tree gives it: what a screen reader says on it. */
export interface Accessible {
  role: string
  name: string
  description: string
}

/**
 * The role, accessible name and description of the element `expression` (page source text) finds, the focused one
 * unless told, as Chromium computes them for a screen reader (hidden text a name points to counted, as it should).
 */
export async function accessibleOf(page: Page, expression = 'document.activeElement'): Promise<Accessible> {
  const cdp = await page.context().newCDPSession(page)
  try {
    const { result } = (await cdp.send('Runtime.evaluate', { expression })) as {
      result: { objectId?: string }
    }
    if (!result.objectId) throw new Error(`${expression} is no element`)
    const { nodes } = (await cdp.send('Accessibility.getPartialAXTree', {
      objectId: result.objectId,
      fetchRelatives: false,
    })) as {
      nodes: { role?: { value: string }; name?: { value: string }; description?: { value: string } }[]
    }
    const node = nodes[0]
    return {
      role: node?.role?.value ?? '',
      name: node?.name?.value ?? '',
      description: node?.description?.value ?? '',
    }
  } finally {
    await cdp.detach()
  }
}
