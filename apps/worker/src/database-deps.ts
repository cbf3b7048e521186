import type { WorkerConfig } from './config.js'
import { createDailyBarsReader } from './daily-bars-reader.js'
import type { Database } from './database.js'
import { createIndicatorValuesWriter } from './indicator-values.js'
import type { JobDeps } from './job.js'

/** The PostgreSQL side of a job: the bars reader (postgres source) and the values writer (sink). */
export function databaseDeps(
  config: WorkerConfig,
  database: Database | undefined,
): Pick<JobDeps, 'bars' | 'values'> {
  if (!database || !config.database) return {}
  const { bars, values } = config.database
  return {
    ...(config.job.source === 'postgres' ? { bars: createDailyBarsReader(database, bars) } : {}),
    ...(config.job.sink === 'postgres'
      ? { values: createIndicatorValuesWriter(database, values) }
      : {}),
  }
}
