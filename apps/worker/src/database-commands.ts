import type { Logger } from 'pino'
import type { WorkerConfig } from './config.js'
import { createDatabase } from './database.js'
import { DEFAULT_STOCKS } from './job-source.js'
import { migrate } from './migrate.js'
import { dateIn } from './schedule.js'
import { seedDailyBars } from './seed-daily-bars.js'

/**
 * `stockpulse-worker migrate` and `seed-db`: one line on stdout when done; resolves to the exit
 * code (0, or 1 with the reason on stderr).
 */
export async function runDatabaseCommand(
  config: WorkerConfig,
  logger: Logger,
  streams: { readonly out: NodeJS.WritableStream; readonly err: NodeJS.WritableStream },
  now: () => Date = () => new Date(),
): Promise<number> {
  const { out, err } = streams
  const settings = config.database!
  const database = createDatabase(settings.url, logger)
  const started = performance.now()
  try {
    if (config.command === 'migrate') {
      const created = await migrate(database, settings)
      out.write(
        created.length > 0
          ? `created ${created.join(' and ')}\n`
          : `${settings.bars.table.text} and ${settings.values.text} exist already\n`,
      )
    } else {
      const stocks = config.job.stocks ?? DEFAULT_STOCKS
      const date = config.run.date ?? dateIn(config.timeZone, now())
      const rows = await seedDailyBars(database, settings.bars, {
        stocks,
        days: config.job.days,
        seed: config.job.seed,
        date,
      })
      const seconds = ((performance.now() - started) / 1000).toFixed(1)
      out.write(
        `wrote ${rows} bars of ${stocks} synthetic stocks (seed ${config.job.seed}, up to ${date}) into ${settings.bars.table.text} in ${seconds} s\n`,
      )
    }
    return 0
  } catch (error) {
    logger.error({ err: error }, `${config.command} failed`)
    err.write(`stockpulse-worker: ${config.command}: ${(error as Error).message}\n`)
    return 1
  } finally {
    await database.end()
  }
}
