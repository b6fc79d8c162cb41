import { settingDocs } from './schema.js'

/** The README's settings table, generated from the schema's docs (a test keeps the README in sync). */
export function renderSettingsTable(): string {
  const rows = Object.entries(settingDocs).map(
    ([name, doc]) => `| \`${name}\` | ${doc.default} | ${doc.description.replaceAll('|', '\\|')} |`,
  )
  return ['| setting | default | what it does |', '|---|---|---|', ...rows].join('\n')
}

export const settingsTableMarkers = ['<!-- settings:start -->', '<!-- settings:end -->'] as const

/**
 * `.env.example`: every setting, commented out at its default, with its description (generated with the
 * README table by `npm run docs:settings`; a test keeps it in sync).
 */
export function renderEnvExample(): string {
  const lines = [
    '# agent-gateway settings. Copy to .env (read from the working directory at start) and uncomment what you change.',
    '# Environment variables win over .env. Generated from src/config/schema.ts by `npm run docs:settings`.',
  ]
  for (const [name, doc] of Object.entries(settingDocs)) {
    const value = /^\(.*\)$/.test(doc.default) ? '' : doc.default
    lines.push('', `# ${doc.description} Default: ${doc.default}.`, `# ${name}=${value}`)
  }
  return `${lines.join('\n')}\n`
}
