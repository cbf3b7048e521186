import type { WorkerConfig } from './config.js'
import { createDailyBarsReader } from './daily-bars-reader.js'
import type { Database } from './database.js'
import type { JobDeps } from './job.js'

/** The PostgreSQL side of a job: the bars reader of the postgres source. */
export function databaseDeps(
  config: WorkerConfig,
  database: Database | undefined,
): Pick<JobDeps, 'bars'> {
  if (!database || !config.database) return {}
  const { bars } = config.database
  return {
    ...(config.job.source === 'postgres' ? { bars: createDailyBarsReader(database, bars) } : {}),
  }
}
