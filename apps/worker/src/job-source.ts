import { MIN_PACE } from '@stockpulse/events'
import type { JobDefaults } from './config.js'
import type { JobSource } from './source.js'

/** What a task may change of the configured source. */
export interface SourceOverrides {
  readonly stocks?: number
  readonly days?: number
  readonly seed?: number
}

/** The source of one task: the configured one, with a task's overrides, up to `date`. */
export function jobSource(job: JobDefaults, overrides: SourceOverrides, date: string): JobSource {
  const stocks = overrides.stocks ?? job.stocks
  const days = overrides.days ?? job.days
  if (job.source === 'csv') {
    return { kind: 'csv', path: job.dataPath!, stocks, days, date, dialect: job.csvDialect }
  }
  if (job.source === 'postgres') return { kind: 'postgres', stocks, days, date }
  return {
    kind: 'synthetic',
    stocks: stocks ?? DEFAULT_STOCKS,
    days,
    seed: overrides.seed ?? job.seed,
    date,
  }
}

/** Synthetic universe size when neither the config nor the command says. */
export const DEFAULT_STOCKS = 5_000

/** How long the `--demo` run lasts when no pace is configured. */
export const DEMO_SECONDS = 60

/** The `--demo` run's pace: the configured one, or the configured universe over DEMO_SECONDS. */
export function demoPace(job: JobDefaults): number {
  return job.pace ?? Math.max(MIN_PACE, (job.stocks ?? DEFAULT_STOCKS) / DEMO_SECONDS)
}
