import { type EventBus, historyKeys } from '@stockpulse/events'
import type { RunQueue } from '@stockpulse/runs'
import type { Logger } from 'pino'
import { createCache } from './cache.js'
import type { WorkerConfig } from './config.js'
import type { Database } from './database.js'
import type { ComputePool } from './executor.js'
import { type Heartbeat, startHeartbeat } from './heartbeat.js'
import { createHistorySink, type HistorySink } from './history-sink.js'
import type { JobSummary } from './job.js'
import { MAX_FAILURES } from './job.js'
import { demoPace } from './job-source.js'
import { busSink, createPublisher } from './publisher.js'
import type { RedisClient } from './redis.js'
import { createResultStore } from './result-store.js'
import type { RunPublisher } from './run-scripts.js'
import type { ServeLoop } from './serve-loop.js'
import type { TaskOverrides } from './task-overrides.js'
import { createTaskRunner, type RunOptions } from './task-runner.js'
import { countEvents, createWorkerMetrics, type WorkerMetrics } from './worker-metrics.js'

export interface WorkerServiceOptions {
  readonly config: WorkerConfig
  /**
   * Where events go unless they go through the history: a Redis bus, or `createMemoryBus()` in
   * one process.
   */
  readonly bus: EventBus
  /**
   * Cache, result store, the run queue of `serve`, and (unless `config.history.maxlen` is 0)
   * the history: events are then published by the history scripts on this client, with
   * positions and task state. Omit in memory mode (no cache, no history, no queue then).
   */
  readonly redis?: RedisClient
  /** PostgreSQL, for the postgres source and sink (`config.database`). */
  readonly database?: Database
  readonly logger: Logger
  /** The clock for task dates and ids. */
  readonly now?: () => Date
  /** The compiled compute-thread entry (tests running from source point it at dist). */
  readonly threadUrl?: URL
  /** Compute threads the caller started early (see `bootsThreads`); the service closes them. */
  readonly pool?: ComputePool
}

/** The worker: a task runner for `run`, and in `serve` its share of the fleet's queued runs. */
export interface WorkerService {
  /** Runs one task now in this process; rejects when another is running or a parameter is invalid. */
  runTask(overrides?: TaskOverrides, options?: RunOptions): Promise<JobSummary>
  /** Boots the compute threads now unless the configured universe is small, so the first task does not wait for them. */
  warmUp(): void
  /**
   * `serve`: with Redis, chunks and runs from the queue, the fleet's schedule, heartbeats and
   * the demo run when configured; without Redis (one process), heartbeats and the demo run here.
   * Resolves once started: the queue's modules (BullMQ) are loaded here, not by `run`.
   */
  start(): Promise<void>
  /**
   * Stops taking jobs and lets those in flight finish (beating `stopping`), cancels a task of
   * this process (its last event says why) and waits for it, lets the compute threads finish
   * and exit, and flushes the events.
   */
  stop(reason: string): Promise<void>
  /** The run whose chunk (or the task) this worker computes now. */
  readonly activeTaskId: string | undefined
  /** When the fleet's schedule fires next; undefined before `start`, after `stop`, without Redis. */
  readonly nextScheduledRun: Date | undefined
  /** Its Prometheus metrics (served on METRICS_PORT by `serve`). */
  readonly metrics: WorkerMetrics
}

export function createWorkerService(options: WorkerServiceOptions): WorkerService {
  const { config, bus, redis, logger, now = () => new Date() } = options
  const history: HistorySink | undefined =
    redis && config.history.maxlen > 0
      ? createHistorySink(redis, {
          keys: historyKeys(config.keyPrefix),
          maxlen: config.history.maxlen,
          runHistory: config.history.runs,
          retentionSeconds: config.history.retentionSeconds,
        })
      : undefined
  const sink = history ?? busSink(bus)
  const metrics = createWorkerMetrics({ indicators: config.job.indicators, now })
  const events = createPublisher(sink, { logger, onEvent: countEvents(metrics) })
  const runner = createTaskRunner({
    config,
    sink,
    ...(redis ? { redis } : {}),
    ...(options.database ? { database: options.database } : {}),
    logger,
    now,
    metrics,
    ...(options.threadUrl ? { threadUrl: options.threadUrl } : {}),
    ...(options.pool ? { pool: options.pool } : {}),
  })
  let starting: Promise<void> | undefined
  let loop: ServeLoop | undefined
  let queue: RunQueue | undefined
  let runPublisher: RunPublisher | undefined
  let heartbeat: Heartbeat | undefined
  let stopped: Promise<void> | undefined
  let stopping = false

  return {
    runTask: (overrides, runOptions) => runner.run(overrides, runOptions),
    warmUp: () => runner.warmUp(),
    start() {
      if (starting || heartbeat || stopped) return starting ?? Promise.resolve()
      if (!redis) {
        startInProcess()
        return Promise.resolve()
      }
      starting = startQueued(redis)
      return starting
    },
    stop(reason) {
      stopped ??= (async () => {
        stopping = true
        heartbeat?.beat()
        heartbeat?.stop()
        await starting?.catch(() => {})
        await loop?.stop()
        await runner.close(reason)
        await events.flush()
        await queue?.close()
        runPublisher?.close()
        history?.close()
      })()
      return stopped
    },
    get activeTaskId() {
      const chunk = loop?.currentChunk
      return chunk ? chunk.slice(0, chunk.lastIndexOf('#')) : runner.activeTaskId
    },
    get nextScheduledRun() {
      return stopped ? undefined : loop?.next
    },
    metrics,
  }

  // `serve` with Redis: the run queue and the serve loop, loaded now (`run` never needs them).
  async function startQueued(redis: RedisClient): Promise<void> {
    const [{ createRunQueue, runKeys }, { createRunPublisher }, { startServeLoop }] =
      await Promise.all([
        import('@stockpulse/runs'),
        import('./run-scripts.js'),
        import('./serve-loop.js'),
      ])
    if (stopped) return
    queue = createRunQueue({ url: config.redisUrl, prefix: config.keyPrefix, now })
    runPublisher = createRunPublisher(redis, {
      history: historyKeys(config.keyPrefix),
      runs: runKeys(config.keyPrefix),
      maxlen: Math.max(1, config.history.maxlen),
      runHistory: config.history.runs,
      retentionSeconds: config.history.retentionSeconds,
      maxFailures: MAX_FAILURES,
    })
    loop = startServeLoop({
      config,
      runner,
      events,
      redis,
      publisher: runPublisher,
      queue,
      ...(options.database ? { database: options.database } : {}),
      ...(config.cacheTtlSeconds > 0
        ? {
            cache: createCache(redis, {
              prefix: config.keyPrefix,
              ttlSeconds: config.cacheTtlSeconds,
            }),
          }
        : {}),
      results: createResultStore(redis, {
        prefix: config.keyPrefix,
        ttlSeconds: config.resultTtlSeconds,
      }),
      logger,
      now,
      metrics,
    })
  }

  // One process without Redis (pnpm start's fallback): heartbeats, and the demo run here.
  function startInProcess(): void {
    heartbeat = startHeartbeat({
      publisher: events,
      instanceId: config.serve.instanceId,
      intervalMs: config.serve.heartbeatSeconds * 1000,
      state: () => {
        const taskId = runner.activeTaskId
        return {
          status: stopping ? 'stopping' : 'ok',
          ...(taskId ? { active_task_id: taskId } : {}),
          threads: config.job.concurrency,
        }
      },
    })
    if (!config.serve.demo) return
    runner.run({ pace: demoPace(config.job) }).catch((error: unknown) => {
      logger.error({ err: error }, 'demo task could not start')
    })
  }
}
