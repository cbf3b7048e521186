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
 * The next weekday (Monday to Friday, the A-share trading week) at `time` (`HH:MM`) in
 * `timeZone` strictly after `now`. Offsets come from Intl, so daylight saving time is handled.
 */
export function nextRunAt(now: Date, time: string, timeZone: string): Date {
  const [hour, minute] = time.split(':').map(Number) as [number, number]
  const today = zoned(now, timeZone)
  for (let ahead = 0; ; ahead++) {
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + ahead))
    const weekday = date.getUTCDay()
    if (weekday === 0 || weekday === 6) continue
    const at = atZonedTime(date, hour, minute, timeZone)
    if (at.getTime() > now.getTime()) return at
  }
}

/**
 * The last weekday at `time` in `timeZone` at or before `now`: when the schedule last came due,
 * whether or not anything ran then (a worker down at 16:30 still has a run it missed).
 */
export function previousRunAt(now: Date, time: string, timeZone: string): Date {
  const [hour, minute] = time.split(':').map(Number) as [number, number]
  const today = zoned(now, timeZone)
  for (let back = 0; ; back++) {
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day - back))
    const weekday = date.getUTCDay()
    if (weekday === 0 || weekday === 6) continue
    const at = atZonedTime(date, hour, minute, timeZone)
    if (at.getTime() <= now.getTime()) return at
  }
}

/** Fires `run` at every `nextRunAt`, rescheduling after each; uses the global timers. */
export interface DailySchedule {
  /** When it came due last (`previousRunAt`); undefined once stopped. */
  readonly last: Date | undefined
  /** When it fires next; undefined once stopped. */
  readonly next: Date | undefined
  stop(): void
}

export function createDailySchedule(options: {
  readonly time: string
  readonly timeZone: string
  readonly run: (at: Date) => void
  readonly now?: () => Date
}): DailySchedule {
  const { time, timeZone, run, now = () => new Date() } = options
  let last: Date | undefined
  let next: Date | undefined
  let timer: NodeJS.Timeout | undefined
  // After a run, the next one is after that run's time even if the timer (on the monotonic
  // clock) fired a millisecond before the wall clock reached it.
  const arm = (after = Number.NEGATIVE_INFINITY) => {
    const current = now().getTime()
    const from = new Date(Math.max(current, after))
    const at = nextRunAt(from, time, timeZone)
    last = previousRunAt(from, time, timeZone)
    next = at
    timer = setTimeout(() => {
      arm(at.getTime())
      run(at)
    }, at.getTime() - current)
  }
  arm()
  return {
    get last() {
      return last
    },
    get next() {
      return next
    },
    stop() {
      clearTimeout(timer)
      last = undefined
      next = undefined
    },
  }
}

// ---- Helpers ----

// The instant when it is `hour:minute` on `date`'s calendar day in `timeZone`.
function atZonedTime(date: Date, hour: number, minute: number, timeZone: string): Date {
  const wanted = Date.UTC(
    date.getUTCFullYear(),
    date.getUTCMonth(),
    date.getUTCDate(),
    hour,
    minute,
  )
  let guess = wanted - offsetMs(new Date(wanted), timeZone)
  guess = wanted - offsetMs(new Date(guess), timeZone)
  return new Date(guess)
}

// How far `timeZone`'s wall clock is ahead of UTC at `at`.
function offsetMs(at: Date, timeZone: string): number {
  const p = zoned(at, timeZone)
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second)
  return wall - Math.floor(at.getTime() / 1000) * 1000
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
