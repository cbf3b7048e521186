import { type EventBus, historyKeys } from '@stockpulse/events'
import type { Logger } from 'pino'
import type { WorkerConfig } from './config.js'
import type { Database } from './database.js'
import { createHistorySink, type HistorySink } from './history-sink.js'
import type { JobSummary } from './job.js'
import { busSink, createPublisher } from './publisher.js'
import type { RedisClient } from './redis.js'
import { type ServeLoop, startServeLoop } from './serve-loop.js'
import type { TaskOverrides } from './task-overrides.js'
import { createTaskRunner, type RunOptions } from './task-runner.js'
import { countEvents, createWorkerMetrics, type WorkerMetrics } from './worker-metrics.js'

export interface WorkerServiceOptions {
  readonly config: WorkerConfig
  /**
   * Commands come in here, and events go out here unless they go through the history: a Redis
   * bus, or `createMemoryBus()` in one process.
   */
  readonly bus: EventBus
  /**
   * Cache, result store, and (unless `config.history.maxlen` is 0) the history: events are then
   * published by the history script on this client, with positions and task state. Omit in
   * memory mode (no cache, no history then).
   */
  readonly redis?: RedisClient
  /** PostgreSQL, for the postgres source and sink (`config.database`). */
  readonly database?: Database
  readonly logger: Logger
  /** The clock for task dates, ids and the schedule. */
  readonly now?: () => Date
  /** The compiled compute-thread entry (tests running from source point it at dist). */
  readonly threadUrl?: URL
}

export interface WorkerServiceStats {
  readonly tasksStarted: number
  readonly commandsReceived: number
  readonly commandsInvalid: number
  readonly commandsRefused: number
}

/** The worker: a task runner, and in `serve` the loop that starts its tasks. */
export interface WorkerService {
  /** Runs one task now; rejects when another is running or a parameter is invalid. */
  runTask(overrides?: TaskOverrides, options?: RunOptions): Promise<JobSummary>
  /** Boots the compute threads now unless the configured universe is small, so the first task does not wait for them. */
  warmUp(): void
  /** Heartbeats, the daily schedule, the command listener, and the demo job when configured. */
  start(): void
  /**
   * Stops the serve loop (beating `stopping`), cancels the running task (its last event says
   * why) and waits for it, lets the compute threads finish and exit, and flushes the events.
   */
  stop(reason: string): Promise<void>
  readonly activeTaskId: string | undefined
  /** When the schedule fires next; undefined before `start` and after `stop`. */
  readonly nextScheduledRun: Date | undefined
  /** Its Prometheus metrics (served on METRICS_PORT by `serve`). */
  readonly metrics: WorkerMetrics
  stats(): WorkerServiceStats
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
    events,
    ...(redis ? { redis } : {}),
    ...(options.database ? { database: options.database } : {}),
    history: history !== undefined,
    logger,
    now,
    metrics,
    ...(options.threadUrl ? { threadUrl: options.threadUrl } : {}),
  })
  let loop: ServeLoop | undefined
  let stopped: Promise<void> | undefined

  return {
    runTask: (overrides, runOptions) => runner.run(overrides, runOptions),
    warmUp: () => runner.warmUp(),
    start() {
      if (loop || stopped) return
      loop = startServeLoop({
        config,
        runner,
        bus,
        events,
        ...(redis ? { redis } : {}),
        logger,
        now,
        metrics,
      })
    },
    stop(reason) {
      stopped ??= (async () => {
        loop?.stop()
        await runner.close(reason)
        await events.flush()
        history?.close()
      })()
      return stopped
    },
    get activeTaskId() {
      return runner.activeTaskId
    },
    get nextScheduledRun() {
      return stopped ? undefined : loop?.next
    },
    metrics,
    stats() {
      const commands = loop?.commands() ?? { received: 0, invalid: 0, refused: 0 }
      return {
        tasksStarted: runner.tasksStarted,
        commandsReceived: commands.received,
        commandsInvalid: commands.invalid,
        commandsRefused: commands.refused,
      }
    },
  }
}
