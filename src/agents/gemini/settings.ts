import { z } from 'zod'
import { optionalString, setting } from '../../config/setting-kinds.js'

/** The gemini driver's settings (environment variables), each with its documentation. */
export const geminiSettings = z.object({
  GEMINI_PATH: setting(
    '(bundled)',
    'Path of the gemini binary; default: the pinned @google/gemini-cli, else `gemini` on PATH.',
    optionalString,
  ),
  GOOGLE_GEMINI_BASE_URL: setting(
    '(Gemini API)',
    'Gemini API endpoint Gemini CLI talks to (a proxy or gateway).',
    optionalString.pipe(z.url().optional()),
  ),
  GEMINI_API_KEY: setting(
    '(none)',
    'Key Gemini CLI uses; given to gemini in its env, never logged.',
    optionalString,
  ),
  GEMINI_MODEL: setting('(gemini default)', 'Model passed to gemini (-m).', optionalString),
})
