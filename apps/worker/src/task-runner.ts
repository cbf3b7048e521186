import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { epochDay } from './bars.js'
import { createCache } from './cache.js'
import { indicatorLayout } from './compute.js'
import { bootsThreads, POOL_MIN_STOCKS, startComputeThreads } from './compute-threads.js'
import type { WorkerConfig } from './config.js'
import type { Database } from './database.js'
import { type ComputeExecutor, type ComputePool, createInlineExecutor } from './executor.js'
import {
  createJob,
  type JobParams,
  type JobProgress,
  type JobSummary,
  type StockDone,
} from './job.js'
import { jobSource } from './job-source.js'
import { createPublisher, type EventSink } from './publisher.js'
import type { RedisClient } from './redis.js'
import { openResultFile } from './result-file.js'
import { createResultStore } from './result-store.js'
import { dateIn } from './schedule.js'
import type { TaskOverrides } from './task-overrides.js'
import { countEvents, type WorkerMetrics } from './worker-metrics.js'

export interface TaskRunnerOptions {
  readonly config: WorkerConfig
  /** Where each task's events go (a plain bus, or the history script). */
  readonly sink: EventSink
  /** Cache and result store. */
  readonly redis?: RedisClient
  /** PostgreSQL, for the postgres source and sink (`config.database`). */
  readonly database?: Database
  readonly logger: Logger
  readonly now: () => Date
  /** Runs, stocks, failures, compute time and events are counted here. */
  readonly metrics: WorkerMetrics
  /** The compiled compute-thread entry (tests running from source point it at dist). */
  readonly threadUrl?: URL
  /** Compute threads the caller started early (see `bootsThreads`); the runner closes them. */
  readonly pool?: ComputePool
}

export interface RunOptions {
  /** Aborting cancels the task; its reason (a string) ends up in the task's last event. */
  readonly signal?: AbortSignal
  readonly onProgress?: (progress: JobProgress) => void
}

/** Runs tasks one at a time, on the compute threads it owns. */
export interface TaskRunner {
  /** Runs one task now; rejects when it is refused (see `refuse`). */
  run(overrides?: TaskOverrides, options?: RunOptions): Promise<JobSummary>
  /** Why a task with these overrides cannot start now, or undefined. */
  refuse(overrides: TaskOverrides): string | undefined
  /** What a task with these overrides computes: the configured defaults filled in. */
  params(overrides: TaskOverrides): JobParams
  /** Where to compute a universe of this many stocks: the compute threads, or this thread. */
  executor(stocks: number): ComputeExecutor
  readonly activeTaskId: string | undefined
  readonly tasksStarted: number
  /** Boots the compute threads now unless the configured universe is small. */
  warmUp(): void
  /** Refuses new tasks, cancels the running one and waits for it, then lets the threads exit. */
  close(reason: string): Promise<void>
}

export function createTaskRunner(options: TaskRunnerOptions): TaskRunner {
  const { config, sink, redis, logger, now, metrics } = options
  const inline = createInlineExecutor()
  let pool: ComputePool | undefined = options.pool
  let active: { taskId: string; controller: AbortController; done: Promise<unknown> } | undefined
  let closing: Promise<void> | undefined
  let tasksStarted = 0

  return {
    run,
    refuse,
    params: taskParams,
    executor,
    get activeTaskId() {
      return active?.taskId
    },
    get tasksStarted() {
      return tasksStarted
    },
    warmUp() {
      if (bootsThreads(config)) computePool()
    },
    close(reason) {
      closing ??= (async () => {
        if (active) {
          logger.info({ task_id: active.taskId, reason }, 'cancelling the running task')
          active.controller.abort(`worker shutting down (${reason})`)
          await active.done.catch(() => {})
        }
        await pool?.close()
        pool = undefined
      })()
      return closing
    },
  }

  async function run(overrides: TaskOverrides = {}, options: RunOptions = {}): Promise<JobSummary> {
    const refusal = refuse(overrides)
    if (refusal) throw new Error(refusal)
    const params = taskParams(overrides)
    const controller = new AbortController()
    const { signal, onProgress } = options
    const forward = () => controller.abort(signal?.reason)
    if (signal?.aborted) forward()
    else signal?.addEventListener('abort', forward, { once: true })
    const done = runJob(params, overrides.out, controller.signal, onProgress)
    active = { taskId: params.taskId, controller, done }
    tasksStarted++
    try {
      return await done
    } finally {
      signal?.removeEventListener('abort', forward)
      active = undefined
    }
  }

  async function runJob(
    params: JobParams,
    out: string | undefined,
    signal: AbortSignal,
    onProgress: ((progress: JobProgress) => void) | undefined,
  ): Promise<JobSummary> {
    const layout = indicatorLayout(params.indicators)
    const resultFile = out ? await openResultFile(out, layout.indicators) : undefined
    // PostgreSQL's reader and writer (and its client) are loaded only when there is a database.
    const database = options.database
      ? (await import('./database-deps.js')).databaseDeps(config, options.database)
      : {}
    const job = createJob(params, {
      publisher: createPublisher(sink, { logger, onEvent: countEvents(metrics) }),
      logger,
      ...(redis && config.cacheTtlSeconds > 0
        ? {
            cache: createCache(redis, {
              prefix: config.keyPrefix,
              ttlSeconds: config.cacheTtlSeconds,
            }),
          }
        : {}),
      ...(redis
        ? {
            results: createResultStore(redis, {
              prefix: config.keyPrefix,
              ttlSeconds: config.resultTtlSeconds,
            }),
          }
        : {}),
      ...(resultFile ? { resultFile } : {}),
      ...database,
      signal,
      onProgress: (progress) => {
        metrics.runProgress(progress.processed, progress.total)
        onProgress?.(progress)
      },
      onStock: countStock,
      executor,
    })
    metrics.runStarted()
    const summary = await job.run()
    metrics.runFinished(summary.status, summary.duration_seconds)
    return summary
  }

  function executor(stocks: number): ComputeExecutor {
    const chosen = stocks >= POOL_MIN_STOCKS ? (computePool() ?? inline) : inline
    metrics.computeThreads(chosen === inline ? 1 : config.job.concurrency)
    return chosen
  }

  function countStock(stock: StockDone): void {
    metrics.stocks(1, stock.failed ? 1 : 0)
    for (const id of stock.failedIndicators) metrics.indicatorFailed(id)
    metrics.computeSeconds(stock.computeMs / 1000)
  }

  function refuse(overrides: TaskOverrides): string | undefined {
    if (closing) return 'the worker is stopping'
    if (active) return `task ${active.taskId} is still running`
    if (overrides.date !== undefined && epochDay(overrides.date) === undefined) {
      return `date ${overrides.date} is not a real date`
    }
    if (overrides.indicators) {
      try {
        indicatorLayout(overrides.indicators)
      } catch (error) {
        return (error as Error).message
      }
    }
    return undefined
  }

  function taskParams(overrides: TaskOverrides): JobParams {
    const job = config.job
    const date = overrides.date ?? config.run.date ?? dateIn(config.timeZone, now())
    const source = jobSource(job, overrides, date)
    const pace = overrides.pace ?? job.pace
    return {
      taskId: overrides.taskId ?? `calc_${now().getTime()}_${randomBytes(2).toString('hex')}`,
      source,
      indicators: overrides.indicators ?? job.indicators,
      concurrency: job.concurrency,
      ...(pace === undefined ? {} : { pace }),
    }
  }

  // The worker threads, started on first use and replaced after a thread died. None for `run`
  // with concurrency 1; `serve` computes on a thread even then: a chunk computed on the main
  // thread would hold back the renewal of its queue lock (another worker then takes it over)
  // and the heartbeats.
  function computePool(): ComputePool | undefined {
    if ((config.job.concurrency < 2 && config.command !== 'serve') || closing) return undefined
    if (pool && !pool.healthy) {
      void pool.close()
      pool = undefined
    }
    pool ??= startComputeThreads(config, logger, options.threadUrl)
    return pool
  }
}
