import {
  type ApiRefusal,
  createStockIndicatorsCompletedEvent,
  createTaskCompletedEvent,
  createTaskProgressEvent,
  type Failure,
  isIdentifier,
  RunErrorCode,
  TASKS_ALL,
  taskChannel,
} from '@stockpulse/events'
import {
  CHUNKS_QUEUE,
  chunkJobId,
  finishJobId,
  RUN_TTL_SECONDS,
  RUNS_QUEUE,
  type RunKeys,
  type RunQueue,
  type StartJobData,
} from '@stockpulse/runs'
import { checkRunRequest } from '@stockpulse/runs/requests'
import type { FlowProducer } from 'bullmq'
import type { Logger } from 'pino'
import { epochDay } from './bars.js'
import type { ChunkJobData } from './chunk-job.js'
import type { WorkerConfig } from './config.js'
import type { DailyBarsReader } from './daily-bars-reader.js'
import type { IndicatorValuesWriter } from './indicator-values.js'
import { MAX_FAILURES, TASK_TYPE } from './job.js'
import { percent } from './progress.js'
import type { Publisher } from './publisher.js'
import type { RedisClient } from './redis.js'
import { progressHead, RUN_RUNNING_SCRIPT, type RunPublisher, runStartedAt } from './run-scripts.js'
import { dateIn } from './schedule.js'
import { openUniverse } from './source.js'
import { overridesFromRequest } from './task-overrides.js'
import type { TaskRunner } from './task-runner.js'
import { notifyTaskEnd } from './user-notice.js'
import type { WorkerMetrics } from './worker-metrics.js'

/** Stocks per chunk job when nothing else is configured. */
export const DEFAULT_CHUNK_STOCKS = 250
/** Tries of a chunk before it fails for good (its stocks are then marked failed). */
export const CHUNK_ATTEMPTS = 3
/** First retry delay of a chunk, doubled at each retry. */
export const CHUNK_BACKOFF_MS = 1_000

/** What the finish job (the parent of a run's chunks) carries. */
export interface FinishJobData {
  readonly task_id: string
  readonly user_id?: string
}

export interface RunJobsOptions {
  readonly config: WorkerConfig
  readonly redis: RedisClient
  readonly keys: RunKeys
  /** Where the run's first event goes (the history sink's publisher). */
  readonly events: Publisher
  readonly publisher: RunPublisher
  readonly runner: TaskRunner
  /** This worker's bars and values tables, when it has a database. */
  readonly tables?: { readonly bars: DailyBarsReader; readonly values: IndicatorValuesWriter }
  readonly flows: FlowProducer
  /** Reads a failed chunk job back: its data (unchecked) and how many times it was tried. */
  readonly readChunk: (
    jobId: string,
  ) => Promise<{ readonly data: unknown; readonly attempts: number } | undefined>
  /** Submits the scheduled runs. */
  readonly queue: RunQueue
  readonly metrics: WorkerMetrics
  readonly logger: Logger
  readonly now: () => Date
}

/** The jobs of the `runs` queue: a run's start, its finish, and the schedule's ticks. */
export interface RunJobs {
  start(data: unknown): Promise<void>
  /** `failures`: chunk job key -> why it failed for good. */
  finish(data: unknown, failures: Record<string, string>): Promise<void>
  scheduled(jobId: string | undefined): Promise<void>
  /**
   * Closes the run of a start or finish job that failed for good (its tries used up, or stalled
   * too often) as failed: one `task.completed`, and the fleet free for the next run.
   */
  abandoned(data: unknown, reason: string): Promise<void>
}

export function createRunJobs(options: RunJobsOptions): RunJobs {
  const { config, redis, keys, events, publisher, runner, flows, queue, metrics, logger, now } =
    options
  const chunkStocks = config.serve.chunkStocks

  return {
    async start(raw) {
      const data = parseStartJob(raw)
      if (typeof data === 'string') {
        metrics.invalidJob()
        logger.warn({ reason: data }, 'start job refused')
        return
      }
      const taskId = data.task_id
      const log = logger.child({ task_id: taskId })
      const state = await redis.hGet(keys.state(taskId), 'state')
      if (state !== 'queued' && state !== 'starting') {
        log.info({ state: state ?? 'gone' }, 'start job skipped: the run is not waiting to start')
        return
      }
      const cancel = await redis.get(keys.cancel(taskId))
      if (cancel !== null)
        return close(taskId, data.user_id, 'cancelled', `cancelled: ${cancel}`, 0)
      const params = runner.params({
        ...overridesFromRequest(data.request),
        ...(data.date === undefined ? {} : { date: data.date }),
      })
      const source = params.source
      // The run's sink is this (the starting) worker's: every chunk carries it, and the worker
      // running a chunk writes to its own database.
      const sink = config.job.sink === 'postgres' ? 'postgres' : undefined
      const { tables } = options
      let codes: readonly string[]
      try {
        if (sink) {
          if (!tables) throw new Error('the postgres sink needs a database connection')
          await tables.values.check()
        }
        codes = (await openUniverse(source, tables ? { bars: tables.bars } : {})).codes
      } catch (error) {
        return close(taskId, data.user_id, 'failed', `failed: ${(error as Error).message}`, 0)
      }
      const total = codes.length
      const started = now().getTime()
      if (state === 'queued') {
        await redis
          .multi()
          .hSet(keys.state(taskId), {
            state: 'starting',
            total,
            processed: 0,
            failed: 0,
            last: 0,
            started_ms: started,
          })
          .expire(keys.state(taskId), RUN_TTL_SECONDS)
          .exec()
      }
      // The run's first event, once: a retry after a worker died before it got out (state
      // `starting`) publishes it then, still before any chunk exists.
      if ((await redis.hGet(keys.state(taskId), 'announced')) !== '1') {
        const startedAt =
          (await runStartedAt(redis, keys, taskId)) ?? new Date(started).toISOString()
        events.publish(
          createTaskProgressEvent(
            {
              task_id: taskId,
              task_type: TASK_TYPE,
              status: 'running',
              progress: 0,
              message: `Starting daily calculation for ${source.date}: ${total} stocks`,
              processed: 0,
              total,
              failed: 0,
              started_at: startedAt,
            },
            new Date(started),
          ),
          [TASKS_ALL, taskChannel(taskId)],
        )
        await events.flush()
        await redis.hSet(keys.state(taskId), 'announced', '1')
        metrics.runStarted()
        log.info(
          { total, date: source.date, chunks: Math.ceil(total / chunkStocks) },
          'run started',
        )
      }
      const finish: FinishJobData = {
        task_id: taskId,
        ...(data.user_id === undefined ? {} : { user_id: data.user_id }),
      }
      const children = []
      for (let start = 0, index = 0; start < total; start += chunkStocks, index++) {
        const chunk: ChunkJobData = {
          task_id: taskId,
          index,
          start,
          codes: codes.slice(start, start + chunkStocks),
          source,
          indicators: params.indicators,
          ...(data.pace === undefined ? {} : { pace: data.pace }),
          ...(sink ? { sink } : {}),
        }
        children.push({
          name: 'chunk',
          queueName: CHUNKS_QUEUE,
          data: chunk,
          opts: {
            jobId: chunkJobId(taskId, index),
            attempts: CHUNK_ATTEMPTS,
            backoff: { type: 'exponential', delay: CHUNK_BACKOFF_MS },
            ignoreDependencyOnFailure: true,
            removeOnComplete: true,
            removeOnFail: { age: RUN_TTL_SECONDS },
          },
        })
      }
      await flows.add({
        name: 'finish',
        queueName: RUNS_QUEUE,
        data: finish,
        opts: {
          jobId: finishJobId(taskId),
          attempts: CHUNK_ATTEMPTS,
          backoff: { type: 'exponential', delay: CHUNK_BACKOFF_MS },
          removeOnComplete: { age: RUN_TTL_SECONDS },
          removeOnFail: { age: RUN_TTL_SECONDS },
        },
        children,
      })
      // Only from `starting`: the run's chunks may all be done, and the run closed, already.
      await redis.eval(RUN_RUNNING_SCRIPT, { keys: [keys.state(taskId)] })
    },

    async finish(raw, failures) {
      const data = parseFinishJob(raw)
      if (typeof data === 'string') {
        metrics.invalidJob()
        logger.warn({ reason: data }, 'finish job refused')
        return
      }
      const taskId = data.task_id
      const state = await redis.hGet(keys.state(taskId), 'state')
      if (state === 'done' || state === undefined || state === null) return
      await redis.hSet(keys.state(taskId), 'state', 'finishing')
      for (const [key, reason] of Object.entries(failures)) {
        await failChunk(taskId, key.slice(key.lastIndexOf(':') + 1), reason)
      }
      const cancel = await redis.get(keys.cancel(taskId))
      const fields = await redis.hGetAll(keys.state(taskId))
      const processed = Number(fields.processed ?? 0)
      const failed = Number(fields.failed ?? 0)
      const total = Number(fields.total ?? 0)
      const success = processed - failed
      // Stocks of a chunk that failed for good and whose codes could not be read back: never
      // published, counted as failed, and said so.
      const unpublished = cancel === null ? Math.max(0, total - processed) : 0
      const failedNote = failed + unpublished > 0 ? `, ${failed + unpublished} failed` : ''
      const unpublishedNote =
        unpublished > 0 ? ` (${unpublished} never published: their chunk could not be read)` : ''
      const message =
        cancel !== null
          ? `cancelled: ${cancel}`
          : `Completed ${total} stocks: ${success} succeeded${failedNote}${unpublishedNote}`
      await close(
        taskId,
        data.user_id,
        cancel !== null ? 'cancelled' : 'completed',
        message,
        total,
        unpublished,
      )
    },

    async scheduled(jobId) {
      const tick = Number(jobId?.slice(jobId.lastIndexOf(':') + 1))
      const at = Number.isSafeInteger(tick) && tick > 0 ? tick : now().getTime()
      // The tick's date, not the date its (perhaps late, perhaps retried) job runs on.
      const date = dateIn(config.timeZone, new Date(at))
      const outcome = await queue.submit(
        { task_id: `calc_${at}_schedule` },
        { trigger: 'schedule', date },
      )
      if (outcome.status === 503) {
        // Redis or the queue is out of reach: BullMQ tries the tick again (its job's attempts).
        throw new Error(`scheduled run not submitted: ${outcome.body.reason}`)
      }
      if (outcome.status === 202) {
        logger.info({ task_id: outcome.body.task_id, tick: at }, 'scheduled run submitted')
      } else if (outcome.body.error === RunErrorCode.RUN_EXISTS) {
        // A tick queued twice (schedulers set at once by several workers): it ran once.
        logger.debug({ tick: at }, 'scheduled run already submitted')
      } else logger.warn({ reason: outcome.body.reason, tick: at }, 'scheduled run skipped')
    },

    async abandoned(raw, reason) {
      // Start and finish jobs both carry the task id and who asked.
      const data = parseFinishJob(raw)
      if (typeof data === 'string') return
      const total = Number((await redis.hGet(keys.state(data.task_id), 'total')) ?? 0)
      logger.error({ task_id: data.task_id, reason }, 'run job failed for good: run closed')
      await close(data.task_id, data.user_id, 'failed', `failed: ${reason}`, total)
    },
  }

  // Publishes a failed stock event for each stock of a chunk that failed for good and never got out.
  async function failChunk(taskId: string, jobId: string, reason: string): Promise<void> {
    const chunk = await options.readChunk(jobId)
    const codes = chunkCodes(chunk?.data)
    const attempts = chunk?.attempts ?? 0
    if (!codes) {
      logger.warn({ task_id: taskId, job_id: jobId }, 'failed chunk has no readable codes')
      return
    }
    const startedAt = await runStartedAt(redis, keys, taskId)
    const why = `chunk failed for good after ${attempts} attempts: ${reason}`
    logger.error({ task_id: taskId, job_id: jobId, reason }, 'chunk failed for good')
    const indicators = config.job.indicators.length
    await Promise.all(
      codes.map(async (code) => {
        const event = createStockIndicatorsCompletedEvent({
          task_id: taskId,
          stock_code: code,
          indicators: [],
          success_count: 0,
          failed_count: indicators,
          calculation_time_ms: 0,
          from_cache_count: 0,
          errors: [{ reason: why }],
        })
        const verdict = await publisher.stock({
          taskId,
          event,
          progressHead: progressHead(taskId, event.timestamp, startedAt),
          failures: [{ stock_code: code, reason: why }],
        })
        // Counted like a computed stock that failed (the done-set skips those published before).
        if ('processed' in verdict) {
          metrics.runProgress(verdict.processed, verdict.total)
          metrics.eventsPublished(verdict.outcome === 'progress' ? 2 : 1)
          metrics.stocks(1, 1)
        }
      }),
    )
  }

  // Publishes the run's task.completed (once, whatever the number of finishers), then tells who asked.
  async function close(
    taskId: string,
    userId: string | undefined,
    status: 'completed' | 'cancelled' | 'failed',
    message: string,
    total: number,
    unpublished = 0,
  ): Promise<void> {
    const fields = await redis.hGetAll(keys.state(taskId))
    const failures: Failure[] = []
    for (const text of await redis.lRange(keys.failures(taskId), 0, MAX_FAILURES - 1)) {
      const failure = parseFailure(text)
      if (failure) failures.push(failure)
    }
    const processed = Number(fields.processed ?? 0)
    const success = Math.max(0, processed - Number(fields.failed ?? 0))
    const failed = Number(fields.failed ?? 0) + unpublished
    const startedMs = Number(fields.started_ms ?? fields.admitted_ms ?? now().getTime())
    const duration = Math.max(0, (now().getTime() - startedMs) / 1000)
    const event = createTaskCompletedEvent({
      task_id: taskId,
      task_type: TASK_TYPE,
      status,
      duration_seconds: duration,
      message,
      result: {
        success,
        failed,
        failures,
        failures_omitted: Number(fields.failures_omitted ?? 0),
        events_dropped: 0,
      },
    })
    if (!(await publisher.complete(event))) return
    metrics.runProgress(processed, total)
    metrics.runFinished(status, duration)
    logger.info(
      { task_id: taskId, status, processed, failed, progress: percent(processed, total) },
      message,
    )
    if (userId) {
      notifyTaskEnd(events, userId, { task_id: taskId, status, failed, message })
      await events.flush()
    }
  }
}

// ---- Helpers ----

function parseStartJob(raw: unknown): StartJobData | string {
  if (typeof raw !== 'object' || raw === null) return 'start data is not an object'
  const { task_id, request, pace, trigger, user_id, date } = raw as Record<string, unknown>
  if (!isIdentifier(task_id)) return 'start task_id is not an identifier'
  const checked = checkRunRequest(request)
  if (!checked.ok) return `start request: ${(checked.outcome.body as ApiRefusal).reason}`
  if (pace !== undefined && !(typeof pace === 'number' && pace >= 1 && Number.isFinite(pace))) {
    return 'start pace is not a number of at least 1'
  }
  if (user_id !== undefined && !isIdentifier(user_id)) {
    return 'start user_id is not an identifier'
  }
  if (date !== undefined && !(typeof date === 'string' && epochDay(date) !== undefined)) {
    return 'start date is not a real date (YYYY-MM-DD)'
  }
  return {
    task_id,
    request: { ...checked.request, task_id },
    trigger: typeof trigger === 'string' ? trigger.slice(0, 32) : 'unknown',
    ...(pace === undefined ? {} : { pace: pace as number }),
    ...(user_id === undefined ? {} : { user_id: user_id as string }),
    ...(date === undefined ? {} : { date: date as string }),
  }
}

function parseFinishJob(raw: unknown): FinishJobData | string {
  if (typeof raw !== 'object' || raw === null) return 'finish data is not an object'
  const { task_id, user_id } = raw as Record<string, unknown>
  if (!isIdentifier(task_id)) return 'finish task_id is not an identifier'
  if (user_id !== undefined && !isIdentifier(user_id)) {
    return 'finish user_id is not an identifier'
  }
  return { task_id, ...(user_id === undefined ? {} : { user_id: user_id as string }) }
}

function chunkCodes(data: unknown): string[] | undefined {
  if (typeof data !== 'object' || data === null) return undefined
  const codes = (data as Record<string, unknown>).codes
  if (!Array.isArray(codes)) return undefined
  const valid = codes.filter(isIdentifier)
  return valid.length === codes.length ? valid : undefined
}

function parseFailure(text: string): Failure | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const { stock_code, indicator, reason } = value as Record<string, unknown>
  if (!isIdentifier(stock_code) || typeof reason !== 'string') {
    return undefined
  }
  return { stock_code, reason, ...(typeof indicator === 'string' ? { indicator } : {}) }
}
