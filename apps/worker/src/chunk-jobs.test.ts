import { historyKeys } from '@stockpulse/events'
import { runKeys } from '@stockpulse/runs'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { createChunkBars } from './chunk-bars.js'
import { createChunkRunner, InvalidChunkError } from './chunk-jobs.js'
import { parseConfig } from './config.js'
import { createRunPublisher } from './run-scripts.js'
import { uniqueId } from './test-support/events.js'
import { useSharedRedis } from './test-support/redis.js'
import { createWorkerMetrics } from './worker-metrics.js'

const context = { cores: 2, hostname: 'test', pid: 1 }

describe('chunk-jobs', () => {
  const prefix = `${uniqueId('chunkjobs')}:`
  const shared = useSharedRedis(prefix)
  const runnerOf = () => {
    const config = parseConfig(['serve', '--key-prefix', prefix], {}, context)
    const keys = runKeys(prefix)
    return createChunkRunner({
      redis: shared(),
      keys,
      publisher: createRunPublisher(shared(), {
        history: historyKeys(prefix),
        runs: keys,
        maxlen: 1_000,
        runHistory: 30,
        retentionSeconds: 86_400,
        maxFailures: 100,
      }),
      executor: () => {
        throw new Error('nothing is computed here')
      },
      // A worker without csv data and without a database.
      bars: createChunkBars(config, undefined),
      metrics: createWorkerMetrics({ indicators: config.job.indicators }),
      logger: pino({ level: 'silent' }),
    })
  }

  const chunk = (source: unknown, sink?: string) => ({
    task_id: uniqueId('chunk'),
    index: 0,
    start: 0,
    codes: ['S1'],
    source,
    indicators: ['SMA_5'],
    ...(sink === undefined ? {} : { sink }),
  })

  it.each<[string, unknown, string | undefined, string]>([
    [
      'a csv chunk reaching a worker without csv data',
      { kind: 'csv', path: '/data', days: 10, date: '2026-01-05', dialect: 'auto' },
      undefined,
      'this worker reads no csv data (serve --source csv --data PATH): a csv run needs every worker to have it',
    ],
    [
      'a postgres chunk reaching a worker without a database',
      { kind: 'postgres', days: 10, date: '2026-01-05' },
      undefined,
      'this worker has no database (serve --database-url URL): a postgres run needs every worker to have one',
    ],
    [
      'a chunk whose values go to postgres reaching a worker without a database',
      { kind: 'synthetic', stocks: 10, days: 10, seed: 1, date: '2026-01-05' },
      'postgres',
      'this worker has no database (serve --database-url URL): a run that stores values in postgres needs every worker to have one',
    ],
  ])('leaves %s to be tried again', async (_, source, sink, message) => {
    const run = runnerOf().run(chunk(source, sink), 0)
    await expect(run).rejects.toThrow(message)
    await expect(run).rejects.not.toBeInstanceOf(InvalidChunkError)
  })
})
