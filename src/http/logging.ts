import { createRequire } from 'node:module'
import type { FastifyRequest, FastifyServerOptions, RawServerDefault } from 'fastify'
import type PinoPretty from 'pino-pretty'
import type { Config } from '../config/load.js'
import { type Redactor, redactedMarker } from '../process/secrets.js'

/** Where log lines go; stdout unless a test or embedder captures them. */
export interface LogSink {
  write(line: string): void
}

/** Headers that carry credentials; pino replaces them wherever a request's headers are logged. */
const credentialHeaders = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key']

/**
 * The request URL as logged: the path, and every query parameter with its value replaced. A client may put a
 * token in any parameter (`?token=`, `?access_token=`, `?api_key=`, or one of its own), so no value is kept.
 */
export function loggableUrl(url: string): string {
  const q = url.indexOf('?')
  if (q === -1) return url
  const params = url
    .slice(q + 1)
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=')
      const name = eq === -1 ? pair : pair.slice(0, eq)
      return `${name}=${redactedMarker}`
    })
  return `${url.slice(0, q)}?${params.join('&')}`
}

/**
 * Where the server's lines go when no sink is given: readable lines on a terminal (pino-pretty, in-process so
 * they pass the redactor first), one JSON object per line otherwise (for log collectors).
 */
function defaultSink(format: Config['LOG_FORMAT']): LogSink {
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true)
  if (!pretty) return process.stdout
  // loaded only for a terminal: a server whose lines go to a collector never pays for its 30 modules
  const pinoPretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty
  return pinoPretty({ translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname', sync: true })
}

/**
 * What Fastify logs for each address it listens on (http/server.ts gives it this text for its "Server listening at
 * <address>"): dropped, so the start line of the gateway's own (cli/commands/serve.ts), written once the server is
 * ready, is the one that says where it listens, with every address in it.
 */
export const fastifyListeningText = 'fastify listening (said by the gateway start line)'

/**
 * pino settings of the server: requests are logged with a query-free URL and no credential header, and every
 * finished line passes through the redactor, so a known secret (API_TOKENS, provider keys) never reaches the
 * log whatever field it ended up in.
 */
export function loggerOptions(
  config: Config,
  redactor: Redactor,
  sink: LogSink = defaultSink(config.LOG_FORMAT),
): FastifyServerOptions<RawServerDefault>['logger'] {
  return {
    level: config.LOG_LEVEL,
    redact: {
      paths: credentialHeaders.flatMap((h) => [
        `req.headers["${h}"]`,
        `res.headers["${h}"]`,
        `headers["${h}"]`,
      ]),
      censor: redactedMarker,
    },
    serializers: {
      req(request: FastifyRequest) {
        return {
          method: request.method,
          url: loggableUrl(request.url),
          host: request.host,
          remoteAddress: request.ip,
          remotePort: request.socket?.remotePort,
        }
      },
    },
    hooks: {
      logMethod(args, method) {
        if (args[0] !== fastifyListeningText) method.apply(this, args)
      },
    },
    stream: { write: (line: string) => sink.write(redactor.text(line)) },
  }
}
