import { type Logger, pino } from 'pino'
import type { LogLevel } from './config.js'

export type { Logger }

/**
 * JSON logs on stdout, written synchronously: a second signal kills the process at once, and its
 * last line must be out by then. Tokens are never logged; `redact` is the safety net for mistakes.
 */
export function createLogger(level: LogLevel): Logger {
  return pino(
    {
      level,
      base: { service: 'gateway' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['token', '*.token', 'url', '*.url', 'headers.authorization'],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd: 1, sync: true }),
  )
}

/** The path of a request URL without its query string, which may carry `token=`. */
export function pathOf(url: string | undefined): string {
  if (!url) return '/'
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}
