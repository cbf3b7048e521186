import { historyKeys } from '@stockpulse/events'
import { runKeys } from '@stockpulse/runs'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
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
      config,
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
      metrics: createWorkerMetrics({ indicators: config.job.indicators }),
      logger: pino({ level: 'silent' }),
    })
  }

  it('leaves a csv chunk reaching a worker without the csv directory to be tried again', async () => {
    const run = runnerOf().run(
      {
        task_id: uniqueId('csv'),
        index: 0,
        start: 0,
        codes: ['S1'],
        source: { kind: 'csv', path: '/data', days: 10, date: '2026-01-05', dialect: 'auto' },
        indicators: ['SMA_5'],
      },
      0,
    )
    await expect(run).rejects.toThrow(
      'this worker reads no csv directory (serve --source csv --data DIR): a csv run needs every worker to have one',
    )
    await expect(run).rejects.not.toBeInstanceOf(InvalidChunkError)
  })
})
