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
