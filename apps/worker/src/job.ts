import { setTimeout as sleep } from 'node:timers/promises'
import {
  createMarketSnapshotEvent,
  createStockIndicatorsCompletedEvent,
  createTaskCompletedEvent,
  createTaskProgressEvent,
  type Failure,
  INDICATORS_ALL,
  MARKET_ALL,
  type MarketSnapshotEvent,
  marketChannel,
  type StockIndicatorsCompletedEvent,
  TASKS_ALL,
  taskChannel,
} from '@stockpulse/events'
import type { Logger } from 'pino'
import type { IndicatorCache } from './cache.js'
import { computeChunk, type StockOutcome } from './chunks.js'
import {
  type ChunkSpec,
  type EngineSetup,
  type IndicatorLayout,
  indicatorLayout,
} from './compute.js'
import type { DailyBarsReader } from './daily-bars-reader.js'
import { type ComputeExecutor, createInlineExecutor } from './executor.js'
import type { IndicatorValuesWriter } from './indicator-values.js'
import type { PackedBars } from './packed-bars.js'
import { createProgressThrottle, percent } from './progress.js'
import type { Publisher } from './publisher.js'
import type { ResultFile, StockResult } from './result-file.js'
import type { ResultStore } from './result-store.js'
import { type JobSource, openUniverse, type Universe } from './source.js'
import { createValueWrites, type ValueWritesReport } from './value-writes.js'

/** `task_type` of every task this worker runs. */
export const TASK_TYPE = 'batch_daily'
/** Most entries in `task.completed`'s `result.failures`; the rest are counted in `failures_omitted`. */
export const MAX_FAILURES = 100
/** Chunk writes to the values table in flight at once. */
export const MAX_VALUE_WRITES = 3

/** One task: what to compute. */
export interface JobParams {
  readonly taskId: string
  readonly source: JobSource
  readonly indicators: readonly string[]
  /** Compute threads for large universes; 1 computes on the main thread. */
  readonly concurrency: number
  /** At most this many stocks per second (demos); as fast as possible when undefined. */
  readonly pace?: number
}

/** What a job talks to. Only the publisher is required: no cache in memory mode. */
export interface JobDeps {
  readonly publisher: Publisher
  readonly logger: Logger
  readonly cache?: IndicatorCache
  readonly results?: ResultStore
  readonly resultFile?: ResultFile
  /** Reads the universe and bars of the postgres source. */
  readonly bars?: DailyBarsReader
  /** Writes each chunk's values to PostgreSQL; a chunk that cannot be written fails the task. */
  readonly values?: IndicatorValuesWriter
  /** Aborting cancels the task; the reason (a string) ends up in its last event. */
  readonly signal?: AbortSignal
  readonly onProgress?: (progress: JobProgress) => void
  /** Told of each stock once it is published, for metrics. */
  readonly onStock?: (stock: StockDone) => void
  /** Picks where to compute a universe of this size; inline on this thread by default. */
  readonly executor?: (stocks: number) => ComputeExecutor
}

export interface JobProgress {
  readonly processed: number
  readonly total: number
  readonly failed: number
}

/** One published stock as metrics see it: what can be counted, no stock code. */
export interface StockDone {
  /** Any failure: the whole stock, or one of its indicators. */
  readonly failed: boolean
  /** Ids of the indicators that failed; empty when none did or the whole stock failed. */
  readonly failedIndicators: readonly string[]
  /** Loading it and computing what the cache lacked, on whichever thread ran it. */
  readonly computeMs: number
}

/** Where the main thread's time went. */
export interface JobTimings {
  readonly wall_ms: number
  /** Loading and computing, summed over stocks (on whichever thread ran them). */
  readonly compute_ms: number
  /** Main thread waiting for computed chunks. */
  readonly wait_ms: number
  /** Main thread building, encoding and publishing events (pacing excluded). */
  readonly publish_ms: number
  /** From the start until the universe was known and (sources read here) its last bars parsed. */
  readonly load_ms: number
  /** Value writes to PostgreSQL, summed over chunks (they overlap); 0 without them. */
  readonly store_ms: number
  /** Main thread waiting for value writes: room for the next chunk, and the last ones. */
  readonly store_wait_ms: number
}

/** What `run` returns, and what `stockpulse-worker run --json` prints. */
export interface JobSummary {
  readonly task_id: string
  readonly status: 'completed' | 'cancelled' | 'failed'
  readonly message: string
  readonly total: number
  readonly processed: number
  readonly success: number
  readonly failed: number
  /** Indicator values served from the cache, all stocks together. */
  readonly from_cache_count: number
  /** Events published (each on two channels). */
  readonly events_published: number
  /** Channel messages handed to the bus. */
  readonly messages_published: number
  readonly events_dropped: number
  readonly failures: readonly Failure[]
  readonly failures_omitted: number
  /** Rows upserted into the values table (with `--sink postgres`). */
  readonly values_written: number
  readonly duration_seconds: number
  readonly timings: JobTimings
}

export interface Job {
  readonly taskId: string
  /** Runs the task to its end; never rejects (a fatal error ends it with status `failed`). */
  run(): Promise<JobSummary>
}

/**
 * A task: lists the stocks, computes chunks ahead on the executor (cache first), and publishes
 * in stock order: `task.progress` at 0, per stock `stock.indicators.completed` and
 * `market.snapshot`, throttled `task.progress` up to 100, and `task.completed` last.
 */
export function createJob(params: JobParams, deps: JobDeps): Job {
  const { taskId, pace } = params
  const { publisher, logger, cache, results, resultFile, signal, onProgress, onStock } = deps
  const valueWrites = deps.values
    ? createValueWrites(deps.values, taskId, MAX_VALUE_WRITES)
    : undefined
  const log = logger.child({ task_id: taskId })
  const taskTopic = taskChannel(taskId)

  return { taskId, run }

  async function run(): Promise<JobSummary> {
    const started = performance.now()
    const startedAt = new Date().toISOString()
    const state = {
      total: 0,
      processed: 0,
      success: 0,
      failed: 0,
      fromCache: 0,
      failures: [] as Failure[],
      failuresOmitted: 0,
      computeMs: 0,
      waitMs: 0,
      publishMs: 0,
      loadMs: 0,
      storeWaitMs: 0,
    }
    const stored: [string, string][] = []
    const loading = new AbortController()
    const stopLoading = () => loading.abort()
    signal?.addEventListener('abort', stopLoading, { once: true })
    const finish = async (ended: JobSummary['status'], reason: string): Promise<JobSummary> => {
      signal?.removeEventListener('abort', stopLoading)
      loading.abort()
      results?.add(taskId, stored.splice(0))
      // The file and the values table are part of what was asked for: one that cannot be
      // written fails the task.
      const fileError = await resultFile?.close().then(
        () => undefined,
        (error: unknown) => error as Error,
      )
      const storeStart = performance.now()
      const written = await valueWrites?.settle()
      state.storeWaitMs += performance.now() - storeStart
      const writeError = written ? valueWritesError(written) : undefined
      const status = fileError || writeError ? 'failed' : ended
      const message = fileError
        ? `failed: results file: ${fileError.message}`
        : writeError
          ? `failed: ${writeError}`
          : reason
      await publisher.flush()
      const duration = (performance.now() - started) / 1000
      const completed = createTaskCompletedEvent({
        task_id: taskId,
        task_type: TASK_TYPE,
        status,
        duration_seconds: duration,
        message,
        result: {
          success: state.success,
          failed: state.failed,
          failures: state.failures,
          failures_omitted: state.failuresOmitted,
          events_dropped: publisher.stats().eventsDropped,
        },
      })
      publisher.publish(completed, [TASKS_ALL, taskTopic])
      await Promise.all([publisher.flush(), cache?.flush(), results?.flush()])
      const stats = publisher.stats()
      const summary: JobSummary = {
        task_id: taskId,
        status,
        message,
        total: state.total,
        processed: state.processed,
        success: state.success,
        failed: state.failed,
        from_cache_count: state.fromCache,
        events_published: stats.events,
        messages_published: stats.messages,
        events_dropped: stats.eventsDropped,
        failures: state.failures,
        failures_omitted: state.failuresOmitted,
        values_written: written?.rows ?? 0,
        duration_seconds: duration,
        timings: {
          wall_ms: performance.now() - started,
          compute_ms: state.computeMs,
          wait_ms: state.waitMs,
          publish_ms: state.publishMs,
          load_ms: state.loadMs,
          store_ms: written?.writeMs ?? 0,
          store_wait_ms: state.storeWaitMs,
        },
      }
      const level = status === 'failed' ? 'error' : 'info'
      log[level]({ ...summary, task_id: undefined, failures: undefined }, message)
      return summary
    }

    if (signal?.aborted) return finish('cancelled', cancelMessage(signal))
    let layout: IndicatorLayout
    let universe: Universe
    try {
      layout = indicatorLayout(params.indicators)
      await deps.values?.check()
      universe = await openUniverse(params.source, deps.bars ? { bars: deps.bars } : {})
      if (universe.ignored.length > 0) {
        log.warn(
          { names: universe.ignored.slice(0, 10), count: universe.ignored.length },
          'ignored: not a <code>.csv file, or not a valid stock code',
        )
      }
    } catch (error) {
      return finish('failed', `failed: ${(error as Error).message}`)
    }
    const codes = universe.codes
    const total = codes.length
    state.total = total
    const date = params.source.date
    publishProgress(0, 0, `Starting daily calculation for ${date}: ${total} stocks`)
    log.info({ total, date, source: params.source.kind }, 'task started')

    const setup: EngineSetup = { indicators: params.indicators, source: universe.engineSource }
    const executor = deps.executor?.(total) ?? createInlineExecutor()
    const threads = params.concurrency
    const size = Math.max(16, Math.min(125, Math.ceil(total / (threads * 4))))
    const chunks: ChunkSpec[] = []
    for (let start = 0; start < total; start += size) {
      chunks.push({ start, codes: codes.slice(start, start + size) })
    }
    const handed = universe.load?.(
      chunks.map((chunk) => chunk.codes.length),
      loading.signal,
    )
    state.loadMs = performance.now() - started
    if (handed) {
      Promise.all(handed).then(
        () => {
          state.loadMs = performance.now() - started
        },
        () => {},
      )
    }
    const lookahead = threads * 2
    const inflight: Promise<StockOutcome[]>[] = []
    const schedule = (index: number) => {
      const chunk = chunks[index]
      if (!chunk) return
      const bars: Promise<PackedBars> | undefined = handed?.[index]
      const outcome = bars
        ? bars.then((packed) =>
            computeChunk(setup, { ...chunk, bars: packed }, executor, layout, cache),
          )
        : computeChunk(setup, chunk, executor, layout, cache)
      outcome.catch(() => {})
      inflight.push(outcome)
    }
    const throttle = createProgressThrottle(total)
    const paceStart = performance.now()

    // Ends the task early; the chunks still computing are awaited first, so that no thread is
    // busy when the caller closes the pool.
    const stop = async (ended: 'cancelled' | 'failed', reason: string) => {
      await Promise.allSettled(inflight.splice(0))
      return finish(ended, reason)
    }

    try {
      for (let i = 0; i < lookahead; i++) schedule(i)
      for (let c = 0; c < chunks.length; c++) {
        const waitStart = performance.now()
        const outcomes = await inflight.shift()!
        state.waitMs += performance.now() - waitStart
        if (signal?.aborted) return stop('cancelled', cancelMessage(signal))
        schedule(c + lookahead)
        const chunkResults: StockResult[] = []
        for (const outcome of outcomes) {
          if (signal?.aborted) return stop('cancelled', cancelMessage(signal))
          if (pace !== undefined) {
            const due = paceStart + (state.processed / pace) * 1000 - performance.now()
            if (due > 0) await sleep(due, undefined, { signal }).catch(() => {})
            if (signal?.aborted) return stop('cancelled', cancelMessage(signal))
          }
          const publishStart = performance.now()
          const result = publishStock(outcome)
          stored.push([outcome.prepared.code, JSON.stringify(result)])
          chunkResults.push(result)
          resultFile?.write(result)
          state.processed++
          state.computeMs += outcome.calcMs
          state.fromCache += outcome.fromCache
          if (outcome.errors.length === 0) state.success++
          else {
            state.failed++
            recordFailures(outcome)
          }
          if (throttle(state.processed)) {
            publishProgress(
              state.processed,
              state.failed,
              `Processing ${outcome.prepared.code} (${state.processed}/${total})`,
            )
          }
          onStock?.({
            failed: outcome.errors.length > 0,
            failedIndicators: outcome.errors.flatMap((error) => error.indicator ?? []),
            computeMs: outcome.calcMs,
          })
          onProgress?.({ processed: state.processed, total, failed: state.failed })
          if (!publisher.writable) await publisher.room()
          state.publishMs += performance.now() - publishStart
        }
        results?.add(taskId, stored.splice(0))
        if (valueWrites) {
          const storeStart = performance.now()
          await valueWrites.add(chunkResults)
          state.storeWaitMs += performance.now() - storeStart
        }
      }
    } catch (error) {
      return stop('failed', `failed: ${(error as Error).message}`)
    }
    const failedNote = state.failed > 0 ? `, ${state.failed} failed` : ''
    return finish('completed', `Completed ${total} stocks: ${state.success} succeeded${failedNote}`)

    function publishProgress(processed: number, failed: number, message: string): void {
      const event = createTaskProgressEvent({
        task_id: taskId,
        task_type: TASK_TYPE,
        status: 'running',
        progress: percent(processed, total),
        message,
        processed,
        total,
        failed,
        started_at: startedAt,
      })
      publisher.publish(event, [TASKS_ALL, taskTopic])
    }

    function recordFailures(outcome: StockOutcome): void {
      for (const error of outcome.errors) {
        if (state.failures.length >= MAX_FAILURES) {
          state.failuresOmitted++
          continue
        }
        state.failures.push({ stock_code: outcome.prepared.code, ...error })
      }
    }
  }

  function publishStock(outcome: StockOutcome): StockResult {
    const { completed, snapshot, result } = stockEvents(taskId, outcome)
    publisher.publish(completed, [INDICATORS_ALL, taskTopic])
    if (snapshot) publisher.publish(snapshot, [marketChannel(snapshot.stock_code), MARKET_ALL])
    return result
  }
}

/** The events of one computed stock, and its result for the stores. */
export function stockEvents(
  taskId: string,
  outcome: StockOutcome,
): {
  completed: StockIndicatorsCompletedEvent
  snapshot?: MarketSnapshotEvent
  result: StockResult
} {
  const { prepared, latest, succeeded, errors } = outcome
  const code = prepared.code
  const completed = createStockIndicatorsCompletedEvent({
    task_id: taskId,
    stock_code: code,
    indicators: succeeded,
    success_count: succeeded.length,
    failed_count: outcome.failedCount,
    calculation_time_ms: Math.round(outcome.calcMs * 1000) / 1000,
    from_cache_count: outcome.fromCache,
    latest,
    ...(errors.length > 0 ? { errors } : {}),
  })
  const snapshot =
    prepared.bar && prepared.tradeDate
      ? createMarketSnapshotEvent({
          task_id: taskId,
          stock_code: code,
          trade_date: prepared.tradeDate,
          bar: prepared.bar,
          indicators: latest,
        })
      : undefined
  const result: StockResult = {
    stock_code: code,
    ...(prepared.tradeDate ? { trade_date: prepared.tradeDate } : {}),
    latest,
    ...(errors.length > 0 ? { errors } : {}),
  }
  return { completed, ...(snapshot ? { snapshot } : {}), result }
}

function valueWritesError(report: ValueWritesReport): string | undefined {
  if (report.failedChunks === 0) return undefined
  return `indicator values: ${report.failedChunks} of ${report.chunks} chunks not written (${report.firstError?.message})`
}

function cancelMessage(signal: AbortSignal): string {
  return `cancelled: ${typeof signal.reason === 'string' ? signal.reason : 'aborted'}`
}
