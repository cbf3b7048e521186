import { type DestinationStream, type Logger, pino } from 'pino'
import type { LogLevel } from './config.js'

/** JSON lines on stderr (stdout stays free for `--json`), ISO timestamps, `service: worker`. */
export function createLogger(
  level: LogLevel,
  destination: DestinationStream = pino.destination({ fd: 2, sync: true }),
): Logger {
  return pino(
    { level, base: { service: 'worker' }, timestamp: pino.stdTimeFunctions.isoTime },
    destination,
  )
}
