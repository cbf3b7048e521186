import { CronExpressionParser } from 'cron-parser'

// Wall-clock fields of an instant in a time zone.
interface ZonedParts {
  readonly year: number
  readonly month: number
  readonly day: number
  readonly hour: number
  readonly minute: number
  readonly second: number
}

const formatters = new Map<string, Intl.DateTimeFormat>()

/** The date (`YYYY-MM-DD`) it is in `timeZone` at `now`. */
export function dateIn(timeZone: string, now: Date): string {
  const { year, month, day } = zoned(now, timeZone)
  return `${year}-${pad(month)}-${pad(day)}`
}

/**
 * When `cron` in `timeZone` last came due at or before `now`, whether or not anything ran then
 * (a fleet down at 16:30 still has a run it missed); undefined for a pattern cron-parser refuses.
 */
export function previousTick(cron: string, timeZone: string, now: Date): Date | undefined {
  try {
    const expression = CronExpressionParser.parse(cron, {
      currentDate: new Date(now.getTime() + 1),
      tz: timeZone,
    })
    return expression.prev().toDate()
  } catch {
    return undefined
  }
}

function zoned(at: Date, timeZone: string): ZonedParts {
  let format = formatters.get(timeZone)
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    formatters.set(timeZone, format)
  }
  const parts: Record<string, string> = {}
  for (const part of format.formatToParts(at)) parts[part.type] = part.value
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
  }
}

function pad(n: number): string {
  return String(n).padStart(2, '0')
}
