import { createMemoryBus } from '@stockpulse/events'
import { pino } from 'pino'
import { createJob, type JobDeps, type JobParams, type JobSummary } from '../job.js'
import { busSink, createPublisher } from '../publisher.js'
import type { StockResult } from '../result-file.js'

/** Runs a job over a memory bus (inline unless deps say otherwise); its summary and results. */
export async function runJob(
  params: JobParams,
  deps: Partial<JobDeps> = {},
): Promise<{ summary: JobSummary; results: StockResult[] }> {
  const results: StockResult[] = []
  const summary = await createJob(params, {
    publisher: createPublisher(busSink(createMemoryBus())),
    logger: pino({ level: 'silent' }),
    resultFile: { write: (result) => results.push(result), close: async () => {} },
    ...deps,
  }).run()
  return { summary, results }
}

/** code -> indicator -> output -> value, of the stocks that have values. */
export function valuesByCode(results: readonly StockResult[], rename = (code: string) => code) {
  return new Map(
    results
      .filter((result) => Object.keys(result.latest).length > 0)
      .map((result) => [rename(result.stock_code), result.latest] as const),
  )
}
