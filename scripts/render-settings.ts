import path from 'node:path'
import { renderSettingsFiles } from './settings-files.js'

/** `npm run docs:settings`: README.md's settings table and .env.example from src/config/schema.ts, if they changed. */
const wrote = renderSettingsFiles(process.cwd()).map((f) => path.relative(process.cwd(), f))
console.log(wrote.length > 0 ? `wrote ${wrote.join(', ')}` : 'README.md and .env.example are up to date')
