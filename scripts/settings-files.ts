import { readFileSync } from 'node:fs'
import path from 'node:path'
import { renderEnvExample, renderSettingsTable, settingsTableMarkers } from '../src/config/settings-table.js'
import { writeIfChanged } from './write-if-changed.js'

/**
 * Rewrites the settings table in `dir`'s README.md and its .env.example from src/config/schema.ts, each only if it
 * changed (`npm run docs:settings`); the files it wrote.
 */
export function renderSettingsFiles(dir: string): string[] {
  const [start, end] = settingsTableMarkers
  const readmeFile = path.join(dir, 'README.md')
  const readme = readFileSync(readmeFile, 'utf8')
  const before = readme.slice(0, readme.indexOf(start) + start.length)
  const after = readme.slice(readme.indexOf(end))
  const files: [string, string][] = [
    [readmeFile, `${before}\n${renderSettingsTable()}\n${after}`],
    [path.join(dir, '.env.example'), renderEnvExample()],
  ]
  return files.filter(([file, text]) => writeIfChanged(file, text)).map(([file]) => file)
}
