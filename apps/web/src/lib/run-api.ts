// The shapes of the gateway's run API (`GET /api/workers`, `GET /api/schedule`), checked field by
// field: the bodies come from outside, and a field of the wrong type drops the entry, not the page.

/** One worker process as `GET /api/workers` lists it. */
export interface WorkerInfo {
  readonly instance_id: string
  readonly host: string
  readonly threads: number
  readonly chunks_done: number
  /** What it computes now, as the gateway describes it. */
  readonly current_chunk?: string
  readonly status: string
  /** Epoch ms of its last heartbeat. */
  readonly last_seen: number
  readonly uptime_seconds: number
}

/** `GET /api/schedule`: the daily run's cron line, its time zone and the next run (epoch ms). */
export interface ScheduleInfo {
  readonly cron: string
  readonly tz: string
  readonly nextRunAt: number | null
}

/** The workers of a `{ workers: [...] }` body; undefined when the body is not that. */
export function parseWorkers(body: unknown): WorkerInfo[] | undefined {
  const list = isRecord(body) ? body.workers : undefined
  if (!Array.isArray(list)) return undefined
  return list.flatMap((entry: unknown): WorkerInfo[] => {
    if (!isRecord(entry)) return []
    const { instance_id, host, threads, chunks_done, status, uptime_seconds } = entry
    const lastSeen = epochMs(entry.last_seen)
    if (
      typeof instance_id !== 'string' ||
      typeof host !== 'string' ||
      !isCount(threads) ||
      !isCount(chunks_done) ||
      typeof status !== 'string' ||
      typeof uptime_seconds !== 'number' ||
      lastSeen === undefined
    ) {
      return []
    }
    const chunk = describeChunk(entry.current_chunk)
    return [
      {
        instance_id,
        host,
        threads,
        chunks_done,
        ...(chunk === undefined ? {} : { current_chunk: chunk }),
        status,
        last_seen: lastSeen,
        uptime_seconds,
      },
    ]
  })
}

/** The schedule of a `{ cron, tz, next_run_at }` body; undefined when the body is not that. */
export function parseSchedule(body: unknown): ScheduleInfo | undefined {
  if (!isRecord(body) || typeof body.cron !== 'string' || typeof body.tz !== 'string')
    return undefined
  if (body.next_run_at === null) return { cron: body.cron, tz: body.tz, nextRunAt: null }
  const next = epochMs(body.next_run_at)
  return next === undefined ? undefined : { cron: body.cron, tz: body.tz, nextRunAt: next }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isCount(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0
}

/** An ISO date-time or epoch ms, as epoch ms. */
function epochMs(value: unknown): number | undefined {
  const ms = typeof value === 'string' ? Date.parse(value) : value
  return typeof ms === 'number' && Number.isFinite(ms) ? ms : undefined
}

/** A chunk as text: a string as it is, a number as "#n", an object's fields as `key value`. */
function describeChunk(chunk: unknown): string | undefined {
  if (typeof chunk === 'string') return chunk
  if (typeof chunk === 'number') return `#${chunk}`
  if (!isRecord(chunk)) return undefined
  return Object.entries(chunk)
    .filter(([, value]) => ['string', 'number'].includes(typeof value))
    .map(([key, value]) => `${key} ${value}`)
    .join(' · ')
}
