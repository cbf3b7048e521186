import { randomBytes } from 'node:crypto'
import {
  createUserNotificationEvent,
  type EventBus,
  historyKeys,
  type SystemHeartbeatEvent,
  type UserNotificationEvent,
  userChannel,
} from '@stockpulse/events'
import type { Logger } from 'pino'
import { epochDay } from './bars.js'
import { createCache } from './cache.js'
import { type CommandListener, listenForCommands } from './commands.js'
import { indicatorLayout } from './compute.js'
import type { WorkerConfig } from './config.js'
import { type ComputePool, createInlineExecutor, createThreadPool } from './executor.js'
import { type Heartbeat, startHeartbeat } from './heartbeat.js'
import { createHistorySink } from './history-sink.js'
import { createJob, type JobParams, type JobProgress, type JobSummary } from './job.js'
import { busSink, createPublisher } from './publisher.js'
import type { RedisClient } from './redis.js'
import { openResultFile } from './result-file.js'
import { createResultStore } from './result-store.js'
import { createDailySchedule, type DailySchedule, dateIn } from './schedule.js'
import type { SourceSpec } from './source.js'
import { closeStaleTasks } from './stale-tasks.js'

/** Synthetic universe size when neither the config nor the command says. */
export const DEFAULT_STOCKS = 5_000
/** How long the `--demo` job lasts when no pace is configured. */
export const DEMO_SECONDS = 60
/** Smaller universes compute on the main thread: starting threads would cost more than it saves. */
export const POOL_MIN_STOCKS = 500

/** What one task may change from the configured job defaults (a start command, or `run` flags). */
export interface TaskOverrides {
  readonly taskId?: string
  /** Who asked: gets a `user.notification` when the task ends. */
  readonly userId?: string
  readonly stocks?: number
  readonly days?: number
  readonly seed?: number
  readonly date?: string
  readonly indicators?: readonly string[]
  readonly pace?: number
  /** Also write the results to this `.jsonl` or `.csv` file. */
  readonly out?: string
}

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

/** The worker: runs tasks one at a time, on demand, on schedule and by command. */
export interface WorkerService {
  /** Runs one task now; rejects when another is running or a parameter is invalid. */
  runTask(
    overrides?: TaskOverrides,
    onProgress?: (progress: JobProgress) => void,
  ): Promise<JobSummary>
  /** Boots the compute threads now unless the configured universe is small, so the first task does not wait for them. */
  warmUp(): void
  /** Heartbeats, the daily schedule, the command listener, and the demo job when configured. */
  start(): void
  /** Cancels the running task (its last event says why), beats `stopping`, stops listening. */
  stop(reason: string): Promise<void>
  readonly activeTaskId: string | undefined
  /** When the schedule fires next; undefined before `start` and after `stop`. */
  readonly nextScheduledRun: Date | undefined
  stats(): WorkerServiceStats
}

export function createWorkerService(options: WorkerServiceOptions): WorkerService {
  const { config, bus, redis, logger, now = () => new Date() } = options
  const keys = historyKeys(config.keyPrefix)
  const history =
    redis && config.history.maxlen > 0
      ? createHistorySink(redis, {
          keys,
          maxlen: config.history.maxlen,
          runHistory: config.history.runs,
          retentionSeconds: config.history.retentionSeconds,
        })
      : undefined
  const sink = history ?? busSink(bus)
  const events = createPublisher(sink, { logger })
  const inline = createInlineExecutor()
  let pool: ComputePool | undefined
  let active: { taskId: string; controller: AbortController; done: Promise<unknown> } | undefined
  let stopping = false
  let stopped: Promise<void> | undefined
  let tasksStarted = 0
  let started:
    | { heartbeat: Heartbeat; schedule: DailySchedule; commands: CommandListener }
    | undefined

  const service: WorkerService = {
    runTask,
    warmUp: () => {
      const small =
        config.job.source === 'synthetic' && (config.job.stocks ?? DEFAULT_STOCKS) < POOL_MIN_STOCKS
      if (!small) computePool()
    },
    start,
    stop,
    get activeTaskId() {
      return active?.taskId
    },
    get nextScheduledRun() {
      return started?.schedule.next
    },
    stats() {
      const commands = started?.commands.stats() ?? { received: 0, invalid: 0, refused: 0 }
      return {
        tasksStarted,
        commandsReceived: commands.received,
        commandsInvalid: commands.invalid,
        commandsRefused: commands.refused,
      }
    },
  }
  return service

  async function runTask(
    overrides: TaskOverrides = {},
    onProgress?: (progress: JobProgress) => void,
  ): Promise<JobSummary> {
    const refusal = refuse(overrides)
    if (refusal) throw new Error(refusal)
    const params = taskParams(overrides)
    const controller = new AbortController()
    const done = runJob(params, overrides.out, controller.signal, onProgress)
    active = { taskId: params.taskId, controller, done }
    tasksStarted++
    try {
      const summary = await done
      if (overrides.userId) notifyEnd(overrides.userId, summary)
      return summary
    } finally {
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
    if (redis && history) await closeLostTasks(redis)
    const resultFile = out ? await openResultFile(out, layout.indicators) : undefined
    const job = createJob(params, {
      publisher: createPublisher(sink, { logger }),
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
      signal,
      ...(onProgress ? { onProgress } : {}),
      executor: (stocks) => (stocks >= POOL_MIN_STOCKS ? (computePool() ?? inline) : inline),
    })
    return job.run()
  }

  // Closes the tasks a lost worker left running; never keeps the new task from starting.
  async function closeLostTasks(redis: RedisClient): Promise<void> {
    await closeStaleTasks({
      redis,
      keys,
      publisher: events,
      staleSeconds: config.history.staleTaskSeconds,
      now,
      logger,
    }).catch((error: unknown) => {
      logger.debug({ err: error }, 'stale tasks not checked: redis unreachable')
    })
  }

  // Why a task with these overrides cannot start now, or undefined.
  function refuse(overrides: TaskOverrides): string | undefined {
    if (stopping) return 'the worker is stopping'
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
    const stocks = overrides.stocks ?? job.stocks
    const source: SourceSpec =
      job.source === 'csv'
        ? { kind: 'csv', dir: job.dataDir!, stocks, date }
        : {
            kind: 'synthetic',
            stocks: stocks ?? DEFAULT_STOCKS,
            days: overrides.days ?? job.days,
            seed: overrides.seed ?? job.seed,
            date,
          }
    const pace = overrides.pace ?? job.pace
    return {
      taskId: overrides.taskId ?? `calc_${now().getTime()}_${randomBytes(2).toString('hex')}`,
      source,
      indicators: overrides.indicators ?? job.indicators,
      concurrency: job.concurrency,
      ...(pace === undefined ? {} : { pace }),
    }
  }

  function notifyEnd(userId: string, summary: JobSummary): void {
    const level =
      summary.status === 'failed'
        ? 'error'
        : summary.status === 'completed' && summary.failed === 0
          ? 'success'
          : 'warning'
    notify(
      userId,
      level,
      `Task ${summary.task_id} ${summary.status}`,
      summary.message,
      summary.task_id,
    )
  }

  function notify(
    userId: string,
    level: UserNotificationEvent['level'],
    title: string,
    message: string,
    taskId: string | undefined,
  ): void {
    events.publish(
      createUserNotificationEvent({
        user_id: userId,
        level,
        title,
        message,
        ...(taskId ? { task_id: taskId } : {}),
      }),
      [userChannel(userId)],
    )
  }

  // Starts a task in the background; returns why it could not start.
  function launch(overrides: TaskOverrides, why: string): string | undefined {
    const refusal = refuse(overrides)
    if (refusal) return refusal
    runTask(overrides).catch((error: unknown) => {
      logger.error({ err: error, trigger: why }, 'task could not start')
    })
    return undefined
  }

  function start(): void {
    if (started) return
    const heartbeatState = (): Pick<SystemHeartbeatEvent, 'status' | 'active_task_id'> => ({
      status: stopping ? 'stopping' : redis && !redis.isReady ? 'degraded' : 'ok',
      ...(active ? { active_task_id: active.taskId } : {}),
    })
    started = {
      heartbeat: startHeartbeat({
        publisher: events,
        instanceId: config.serve.instanceId,
        intervalMs: config.serve.heartbeatSeconds * 1000,
        state: heartbeatState,
      }),
      schedule: createDailySchedule({
        time: config.serve.scheduleTime,
        timeZone: config.timeZone,
        now,
        run: (at) => {
          const refusal = launch({}, 'schedule')
          if (refusal) logger.warn({ at, reason: refusal }, 'scheduled run skipped')
        },
      }),
      commands: listenForCommands({
        bus,
        logger,
        onStart: (command) => {
          const refusal = launch(
            {
              ...(command.task_id ? { taskId: command.task_id } : {}),
              ...(command.user_id ? { userId: command.user_id } : {}),
              ...(command.stocks ? { stocks: command.stocks } : {}),
              ...(command.days ? { days: command.days } : {}),
              ...(command.seed === undefined ? {} : { seed: command.seed }),
              ...(command.date ? { date: command.date } : {}),
              ...(command.indicators ? { indicators: command.indicators } : {}),
              ...(command.pace ? { pace: command.pace } : {}),
            },
            'command',
          )
          if (refusal && command.user_id) {
            notify(command.user_id, 'warning', 'Task not started', refusal, command.task_id)
          }
          return refusal
        },
        onCancel: (command) => {
          if (active?.taskId !== command.task_id) return `task ${command.task_id} is not running`
          active.controller.abort('cancel command')
          return undefined
        },
      }),
    }
    logger.info(
      { next_run: started.schedule.next, time_zone: config.timeZone, demo: config.serve.demo },
      'worker serving',
    )
    if (config.serve.demo) {
      const stocks = config.job.stocks ?? DEFAULT_STOCKS
      launch({ pace: config.job.pace ?? stocks / DEMO_SECONDS }, 'demo')
    }
  }

  function stop(reason: string): Promise<void> {
    stopped ??= shutDown(reason)
    return stopped
  }

  async function shutDown(reason: string): Promise<void> {
    stopping = true
    started?.schedule.stop()
    started?.commands.stop()
    if (active) {
      logger.info({ task_id: active.taskId, reason }, 'cancelling the running task')
      active.controller.abort(`worker shutting down (${reason})`)
      await active.done.catch(() => {})
    }
    started?.heartbeat.beat()
    started?.heartbeat.stop()
    await Promise.all([events.flush(), pool?.close()])
    history?.close()
    pool = undefined
  }

  // The worker threads, started on first use and replaced after a thread died; none with concurrency 1.
  function computePool(): ComputePool | undefined {
    if (config.job.concurrency < 2) return undefined
    if (pool && !pool.healthy) {
      void pool.close()
      pool = undefined
    }
    pool ??= createThreadPool({
      threads: config.job.concurrency,
      ...(options.threadUrl ? { threadUrl: options.threadUrl } : {}),
    })
    return pool
  }
}
