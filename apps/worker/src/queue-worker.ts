import { setTimeout as sleep } from 'node:timers/promises'
import {
  bullPrefix,
  CHUNKS_QUEUE,
  finishJobId,
  RUNS_QUEUE,
  type RunQueue,
  runKeys,
  SCHEDULER_ID,
  STARTS_QUEUE,
  startJobId,
} from '@stockpulse/runs'
import {
  DelayedError,
  FlowProducer,
  Job,
  Queue,
  UnrecoverableError,
  WaitingError,
  Worker,
} from 'bullmq'
import type { Logger } from 'pino'
import type { IndicatorCache } from './cache.js'
import { createChunkBars } from './chunk-bars.js'
import { type ChunkRunner, createChunkRunner, InvalidChunkError } from './chunk-jobs.js'
import type { WorkerConfig } from './config.js'
import { createDailyBarsReader } from './daily-bars-reader.js'
import type { Database } from './database.js'
import { createIndicatorValuesWriter } from './indicator-values.js'
import type { Publisher } from './publisher.js'
import { createQueueClient, type RedisClient } from './redis.js'
import type { ResultStore } from './result-store.js'
import { createRunJobs } from './run-jobs.js'
import type { RunPublisher } from './run-scripts.js'
import type { TaskRunner } from './task-runner.js'
import type { WorkerMetrics } from './worker-metrics.js'

/** Longest `close` waits for BullMQ's own close after the in-flight jobs settled (bullmq#4656). */
export const QUEUE_CLOSE_DEADLINE_MS = 5_000

/** Tries of a schedule tick's submit (1 s, 2 s, ... 64 s apart: about 2 minutes in all). */
const SCHEDULE_ATTEMPTS = 8
const SCHEDULE_BACKOFF_MS = 1_000

export interface QueueWorkerOptions {
  readonly config: WorkerConfig
  /** The worker's node-redis client: run scripts, run state. */
  readonly redis: RedisClient
  /** Events outside the run scripts: a run's first progress event, user notices. */
  readonly events: Publisher
  readonly publisher: RunPublisher
  readonly runner: TaskRunner
  readonly queue: RunQueue
  /** This worker's PostgreSQL (`config.database`): chunks of postgres runs read and write here. */
  readonly database?: Database
  readonly cache?: IndicatorCache
  readonly results?: ResultStore
  readonly metrics: WorkerMetrics
  readonly logger: Logger
  readonly now: () => Date
}

/** `serve`'s share of the fleet: chunks and run jobs from BullMQ, and the fleet's schedule. */
export interface QueueWorker {
  readonly chunks: Pick<ChunkRunner, 'running' | 'chunksDone'>
  /** When the fleet's schedule fires next, as BullMQ last said; undefined while unknown. */
  nextRunAt(): Promise<Date | undefined>
  /**
   * Takes no new job (one fetched meanwhile goes back to the queue), stops the chunks in flight at
   * their next stock and hands them back, waits for the other jobs at most the stall timeout, hands
   * back those still running (another worker takes them at once; the done-set keeps their stocks
   * from appearing twice), then closes the BullMQ connections.
   */
  close(): Promise<void>
}

export function startQueueWorker(options: QueueWorkerOptions): QueueWorker {
  const { config, redis, events, publisher, runner, queue, metrics, logger, now } = options
  const keys = runKeys(config.keyPrefix)
  const prefix = bullPrefix(config.keyPrefix)
  const clients: RedisClient[] = []
  const connection = () => {
    const client = createQueueClient(config.redisUrl)
    clients.push(client)
    return client
  }
  const stallMs = config.serve.stallTimeoutSeconds * 1000
  const workerOptions = {
    prefix,
    skipVersionCheck: true,
    lockDuration: stallMs,
    stalledInterval: Math.max(500, Math.round(stallMs / 2)),
    maxStalledCount: 3,
  }
  const flows = new FlowProducer({ connection: connection(), prefix, skipVersionCheck: true })
  const chunkQueue = new Queue(CHUNKS_QUEUE, {
    connection: connection(),
    prefix,
    skipVersionCheck: true,
  })
  const runQueue = new Queue(RUNS_QUEUE, {
    connection: connection(),
    prefix,
    skipVersionCheck: true,
  })
  const quiet = (error: Error) => logger.debug({ err: error.message }, 'queue error')
  flows.on('error', quiet)
  chunkQueue.on('error', quiet)
  runQueue.on('error', quiet)
  const tables =
    options.database && config.database
      ? {
          bars: createDailyBarsReader(options.database, config.database.bars),
          values: createIndicatorValuesWriter(options.database, config.database.values),
        }
      : undefined
  const chunks = createChunkRunner({
    redis,
    keys,
    publisher,
    executor: () => runner.executor(Number.POSITIVE_INFINITY),
    bars: createChunkBars(config, tables?.bars),
    ...(tables ? { values: tables.values } : {}),
    ...(options.cache ? { cache: options.cache } : {}),
    ...(options.results ? { results: options.results } : {}),
    metrics,
    logger,
  })
  const jobs = createRunJobs({
    config,
    redis,
    keys,
    events,
    publisher,
    runner,
    ...(tables ? { tables } : {}),
    flows,
    readChunk: async (jobId) => {
      const job = await Job.fromId(chunkQueue, jobId)
      return job ? { data: job.data as unknown, attempts: job.attemptsMade } : undefined
    },
    queue,
    metrics,
    logger,
    now,
  })
  // Jobs this worker processes: their lock token, and whether close handed them back.
  const active = new Map<Job, { readonly token: string; handedBack: boolean }>()
  let closing = false
  const inflight = new Set<Promise<unknown>>()
  const track = <T>(work: Promise<T>): Promise<T> => {
    inflight.add(work)
    work.then(
      () => inflight.delete(work),
      () => inflight.delete(work),
    )
    return work
  }

  // Aborted on close: chunks in flight stop at their next stock and go back to the queue.
  const stopping = new AbortController()
  const chunkWorker = new Worker(
    CHUNKS_QUEUE,
    (job, token) =>
      processing(job, token, async () => {
        let outcome: Awaited<ReturnType<typeof chunks.run>>
        try {
          outcome = await chunks.run(job.data, job.attemptsMade, stopping.signal)
        } catch (error) {
          if (error instanceof InvalidChunkError) {
            metrics.invalidJob()
            throw new UnrecoverableError(error.message)
          }
          logger.warn({ chunk: job.id, err: (error as Error).message }, 'chunk failed')
          throw error
        }
        if (!outcome.handedBack) return outcome
        // Back to the queue without using an attempt; the done-set keeps what went out.
        await job.moveToDelayed(Date.now(), token)
        logger.info({ chunk: job.id, published: outcome.published }, 'chunk handed back')
        throw new DelayedError()
      }),
    { ...workerOptions, connection: connection(), concurrency: config.job.concurrency + 1 },
  )
  // Start jobs come from the gateway and the CLI (STARTS_QUEUE); finish jobs and the schedule's
  // ticks from the workers alone (RUNS_QUEUE, which the other Redis users may not write).
  const startWorker = new Worker(
    STARTS_QUEUE,
    (job, token) =>
      processing(job, token, async () => {
        ownRun(job, 'start')
        return jobs.start(job.data)
      }),
    { ...workerOptions, connection: connection(), concurrency: 1 },
  )
  const runWorker = new Worker(
    RUNS_QUEUE,
    (job, token) =>
      processing(job, token, async () => {
        if (job.name === 'scheduled') return jobs.scheduled(job.id)
        ownRun(job, 'finish')
        return jobs.finish(job.data, await job.getIgnoredChildrenFailures())
      }),
    { ...workerOptions, connection: connection(), concurrency: 2 },
  )
  for (const [worker, name] of [
    [startWorker, 'start'],
    [runWorker, 'finish'],
  ] as const) {
    worker.on('failed', (job, error) => {
      if (!job || job.name !== name || runOf(job) === undefined) return
      const forGood =
        error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1)
      if (!forGood) return
      track(
        jobs
          .abandoned(job.data, `the ${job.name} job failed: ${error.message}`)
          .catch((closeError: unknown) =>
            logger.error(
              { job_id: job.id, err: (closeError as Error).message },
              'a failed run could not be closed',
            ),
          ),
      )
    })
  }
  for (const worker of [chunkWorker, startWorker, runWorker]) {
    worker.on('error', (error: Error) => logger.debug({ err: error.message }, 'queue worker error'))
    worker.on('stalled', (jobId: string) => {
      metrics.chunkStalled()
      logger.warn({ job_id: jobId }, 'job stalled: its worker went silent; taken over')
    })
  }
  const scheduled = setSchedule().then(
    (changed) => {
      const fields = { schedule: config.serve.schedule, time_zone: config.timeZone }
      logger.info(fields, changed ? 'schedule set' : 'schedule already set')
    },
    (error: unknown) => logger.warn({ err: (error as Error).message }, 'schedule not set yet'),
  )
  let closed: Promise<void> | undefined

  return {
    chunks,
    async nextRunAt() {
      await scheduled
      const scheduler = await runQueue.getJobScheduler(SCHEDULER_ID)
      return scheduler?.next === undefined ? undefined : new Date(scheduler.next)
    },
    close() {
      closed ??= (async () => {
        closing = true
        stopping.abort()
        await within(
          'pausing',
          Promise.all([chunkWorker, startWorker, runWorker].map((worker) => worker.pause(true))),
        )
        if (!(await within('the jobs in flight', Promise.allSettled([...inflight]), stallMs))) {
          const handed = [...active].map(([job, entry]) => {
            entry.handedBack = true
            return job.moveToWait(entry.token)
          })
          await within('handing back the jobs in flight', Promise.allSettled(handed))
          logger.warn({ jobs: handed.length }, 'jobs still running at shutdown handed back')
          await within('the jobs handed back', Promise.allSettled([...inflight]))
        }
        for (const [name, worker] of [
          ['chunks', chunkWorker],
          ['starts', startWorker],
          ['runs', runWorker],
        ] as const) {
          if (!(await within(`closing the ${name} worker`, worker.close()))) {
            await within(`closing the ${name} worker by force`, worker.close(true))
          }
        }
        await within('the schedule', scheduled)
        await within(
          'closing the queues',
          Promise.allSettled([flows.close(), chunkQueue.close(), runQueue.close()]),
        )
        await within(
          'closing the connections',
          Promise.allSettled(clients.map((client) => (client.isOpen ? client.close() : undefined))),
        )
        for (const client of clients) if (client.isOpen) client.destroy()
      })()
      return closed
    },
  }

  // Runs a job, or hands it back when it was fetched while the worker closes (pausing does not cut
  // a fetch already waiting). A job handed back by `close` ends without a result (WaitingError):
  // its lock is another worker's now.
  async function processing<T>(
    job: Job,
    token: string | undefined,
    work: () => Promise<T>,
  ): Promise<T> {
    if (closing && token !== undefined) {
      await job.moveToWait(token)
      throw new WaitingError()
    }
    const entry = { token: token ?? '', handedBack: false }
    if (token !== undefined) active.set(job, entry)
    try {
      const result = await track(work())
      if (entry.handedBack) throw new WaitingError()
      return result
    } catch (error) {
      throw entry.handedBack ? new WaitingError() : error
    } finally {
      active.delete(job)
    }
  }

  // Refuses a job named `name` that is not its run's own (`<task_id>#start`, `<task_id>#finish`):
  // one added by hand, e.g. a finish job that would close a run mid-way.
  function ownRun(job: Job, name: 'start' | 'finish'): void {
    if (job.name === name && runOf(job) !== undefined) return
    metrics.invalidJob()
    const what = JSON.stringify(String(job.name).slice(0, 64))
    logger.warn({ job_id: job.id, name: what }, 'job refused: not a job of its run')
    throw new UnrecoverableError(`job ${what} refused: not a ${name} job of its run`)
  }

  // Sets the fleet's job scheduler unless it already has this pattern and zone: every worker
  // setting it again at start could make BullMQ queue a tick that already ran.
  async function setSchedule(): Promise<boolean> {
    const current = await runQueue.getJobScheduler(SCHEDULER_ID)
    if (
      current?.pattern === config.serve.schedule &&
      current.tz === config.timeZone &&
      current.template?.opts?.attempts === SCHEDULE_ATTEMPTS
    ) {
      return false
    }
    await runQueue.upsertJobScheduler(
      SCHEDULER_ID,
      { pattern: config.serve.schedule, tz: config.timeZone },
      {
        name: 'scheduled',
        data: {},
        opts: {
          // A tick whose submit found Redis out of reach is tried again, for about 2 minutes.
          attempts: SCHEDULE_ATTEMPTS,
          backoff: { type: 'exponential', delay: SCHEDULE_BACKOFF_MS },
          removeOnComplete: { count: 100 },
          removeOnFail: { count: 100 },
        },
      },
    )
    return true
  }

  // The task id of a start or finish job whose id is the one its run gave it.
  function runOf(job: Job): string | undefined {
    const taskId = (job.data as { task_id?: unknown } | null)?.task_id
    if (typeof taskId !== 'string') return undefined
    const expected = job.name === 'start' ? startJobId(taskId) : finishJobId(taskId)
    return job.id === expected ? taskId : undefined
  }

  // Waits for `work` at most `ms` (BullMQ's close can hang: bullmq#4656); false, and a warning,
  // when it took longer.
  async function within(
    what: string,
    work: Promise<unknown>,
    ms = QUEUE_CLOSE_DEADLINE_MS,
  ): Promise<boolean> {
    const deadline = new AbortController()
    const done = await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      sleep(ms, false, { signal: deadline.signal }).catch(() => true),
    ])
    deadline.abort()
    if (!done) logger.warn({ step: what }, 'queue close step took too long: going on')
    return done
  }
}
