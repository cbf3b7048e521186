import { setTimeout as sleep } from 'node:timers/promises'
import { chunkJobId, type RunKeys } from '@stockpulse/runs'
import type { Logger } from 'pino'
import type { IndicatorCache } from './cache.js'
import type { ChunkBars } from './chunk-bars.js'
import { parseChunkJob } from './chunk-job.js'
import { computeChunk } from './chunks.js'
import { indicatorLayout } from './compute.js'
import type { ComputeExecutor } from './executor.js'
import type { IndicatorValuesWriter } from './indicator-values.js'
import { stockEvents } from './job.js'
import type { RedisClient } from './redis.js'
import type { ResultStore } from './result-store.js'
import { progressHead, type RunPublisher, runStartedAt, type StockVerdict } from './run-scripts.js'
import type { WorkerMetrics } from './worker-metrics.js'

/** Most stock publishes of one chunk awaiting their reply at once. */
export const CHUNK_PUBLISH_WINDOW = 256

export interface ChunkRunnerOptions {
  readonly redis: RedisClient
  readonly keys: RunKeys
  readonly publisher: RunPublisher
  /** The compute threads (or this thread) of the worker. */
  readonly executor: () => ComputeExecutor
  /** Where a chunk's bars come from on this worker (its csv path, its database). */
  readonly bars: ChunkBars
  /** This worker's values table, when it has a database: for runs whose sink is postgres. */
  readonly values?: IndicatorValuesWriter
  readonly cache?: IndicatorCache
  readonly results?: ResultStore
  readonly metrics: WorkerMetrics
  readonly logger: Logger
}

/** What a chunk job came to (its return value in BullMQ). */
export interface ChunkOutcome {
  readonly published: number
  readonly duplicates: number
  readonly cancelled: boolean
  /** The worker is stopping: the chunk stopped at a stock and goes back to the queue. */
  readonly handedBack: boolean
}

/** Computes and publishes chunks of queued runs; `running` names those in progress. */
export interface ChunkRunner {
  /**
   * Runs one chunk job's data; throws to have BullMQ retry it (or fail it for good). Once
   * `stopping` aborts, it stops at its next stock and says it must be handed back.
   */
  run(data: unknown, attempt: number, stopping?: AbortSignal): Promise<ChunkOutcome>
  /** `<task_id>#<index>` of the chunks being computed now. */
  readonly running: ReadonlySet<string>
  readonly chunksDone: number
}

/** Thrown for a chunk whose data can never be run: BullMQ does not try it again. */
export class InvalidChunkError extends Error {
  override readonly name = 'InvalidChunkError'
}

export function createChunkRunner(options: ChunkRunnerOptions): ChunkRunner {
  const { redis, keys, publisher, cache, results, values, metrics, logger } = options
  const running = new Set<string>()
  const pacers = new Map<string, { start: number; count: number }>()
  let chunksDone = 0

  return {
    async run(raw, attempt, stopping) {
      const data = parseChunkJob(raw)
      if (typeof data === 'string') throw new InvalidChunkError(data)
      const { task_id: taskId, index } = data
      if (attempt > 0) metrics.chunkRetried()
      if ((await redis.exists(keys.cancel(taskId))) === 1) {
        return { published: 0, duplicates: 0, cancelled: true, handedBack: false }
      }
      if (data.sink === 'postgres' && !values) {
        // Not the chunk's fault: tried again (perhaps on a worker with a database).
        throw new Error(
          'this worker has no database (serve --database-url URL): a run that stores values in postgres needs every worker to have one',
        )
      }
      const startedAt = await runStartedAt(redis, keys, taskId)
      const id = chunkJobId(taskId, index)
      running.add(id)
      try {
        const layout = indicatorLayout(data.indicators)
        // Not cut by `stopping`: a chunk reads its bars whole, then stops at its next stock.
        const { source, bars } = await options.bars.read(data)
        const outcomes = await computeChunk(
          { indicators: data.indicators, source },
          { start: data.start, codes: data.codes, ...(bars ? { bars } : {}) },
          options.executor(),
          layout,
          cache,
        )
        const events = outcomes.map((outcome) => stockEvents(taskId, outcome))
        // The whole chunk in one transaction before any of its stocks is published: a chunk
        // killed mid-way left all of its values or none, and its retry writes them all again.
        if (data.sink === 'postgres') {
          await values!.write(
            taskId,
            events.map((event) => event.result),
          )
        }
        const pending = new Set<Promise<StockVerdict>>()
        const stored: [string, string][] = []
        let published = 0
        let duplicates = 0
        let cancelled = false
        let handedBack = false
        for (const [i, outcome] of outcomes.entries()) {
          if (cancelled) break
          if (data.pace !== undefined) await pace(taskId, data.pace, stopping)
          if (stopping?.aborted) {
            handedBack = true
            break
          }
          const { completed, snapshot, result } = events[i]!
          const failures = outcome.errors.map((error) => ({
            stock_code: outcome.prepared.code,
            ...error,
          }))
          const reply = publisher
            .stock({
              taskId,
              event: completed,
              ...(snapshot ? { snapshot } : {}),
              progressHead: progressHead(taskId, completed.timestamp, startedAt),
              failures,
            })
            .then((verdict) => {
              if (!('processed' in verdict)) {
                if (verdict.outcome === 'cancelled') cancelled = true
                else duplicates++
              } else {
                published++
                metrics.runProgress(verdict.processed, verdict.total)
                const progress = verdict.outcome === 'progress' ? 1 : 0
                metrics.eventsPublished(1 + (snapshot ? 1 : 0) + progress)
                metrics.stocks(1, outcome.errors.length > 0 ? 1 : 0)
                for (const error of outcome.errors) {
                  if (error.indicator) metrics.indicatorFailed(error.indicator)
                }
                metrics.computeSeconds(outcome.calcMs / 1000)
              }
              return verdict
            })
          pending.add(reply)
          reply.then(
            () => pending.delete(reply),
            () => pending.delete(reply),
          )
          stored.push([outcome.prepared.code, JSON.stringify(result)])
          if (pending.size >= CHUNK_PUBLISH_WINDOW) await Promise.race(pending)
        }
        // A publish Redis refused fails the chunk: BullMQ tries it again, and the done-set
        // keeps the stocks that did get through from appearing twice.
        await Promise.all(pending)
        results?.add(taskId, stored)
        await Promise.all([results?.flush(), cache?.flush()])
        if (!handedBack) chunksDone++
        logger.debug({ chunk: id, published, duplicates, cancelled, handedBack }, 'chunk done')
        return { published, duplicates, cancelled, handedBack }
      } finally {
        running.delete(id)
      }
    },
    running,
    get chunksDone() {
      return chunksDone
    },
  }

  // Paces a run on this worker: at most `perSecond` stocks a second over all its chunks here.
  async function pace(taskId: string, perSecond: number, stopping?: AbortSignal): Promise<void> {
    let pacer = pacers.get(taskId)
    if (!pacer) {
      pacers.clear()
      pacer = { start: performance.now(), count: 0 }
      pacers.set(taskId, pacer)
    }
    const due = pacer.start + (pacer.count++ / perSecond) * 1000 - performance.now()
    if (due > 0) await sleep(due, undefined, stopping ? { signal: stopping } : {}).catch(() => {})
  }
}
