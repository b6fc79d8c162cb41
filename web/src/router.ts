import { signal } from '@preact/signals'

/** Hash routes (`#/runs/run_1`): links work without any server-side fallback, and reload keeps the view. */
export const route = signal(parse())

window.addEventListener('hashchange', () => {
  route.value = parse()
})

function parse(): string[] {
  return location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent)
}

export function navigate(...parts: string[]): void {
  location.hash = `#/${parts.map(encodeURIComponent).join('/')}`
}

export const href = (...parts: string[]) => `#/${parts.map(encodeURIComponent).join('/')}`
