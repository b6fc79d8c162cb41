import { settingDocs } from './schema.js'

/** The README's settings table, generated from the schema's docs (a test keeps the README in sync). */
export function renderSettingsTable(): string {
  const rows = Object.entries(settingDocs).map(
    ([name, doc]) => `| \`${name}\` | ${doc.default} | ${doc.description.replaceAll('|', '\\|')} |`,
  )
  return ['| setting | default | what it does |', '|---|---|---|', ...rows].join('\n')
}

export const settingsTableMarkers = ['<!-- settings:start -->', '<!-- settings:end -->'] as const
