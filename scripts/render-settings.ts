import { readFileSync, writeFileSync } from 'node:fs'
import { renderEnvExample, renderSettingsTable, settingsTableMarkers } from '../src/config/settings-table.js'

/** `npm run docs:settings`: rewrites the settings table in README.md and .env.example from src/config/schema.ts. */
const [start, end] = settingsTableMarkers
const readme = readFileSync('README.md', 'utf8')
const before = readme.slice(0, readme.indexOf(start) + start.length)
const after = readme.slice(readme.indexOf(end))
writeFileSync('README.md', `${before}\n${renderSettingsTable()}\n${after}`)
writeFileSync('.env.example', renderEnvExample())
