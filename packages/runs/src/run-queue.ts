import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  isIdentifier,
  isWorkerInfo,
  RunErrorCode,
  type RunRequest,
  type WorkerInfo,
} from '@stockpulse/events'
import { connectInBackground } from '@stockpulse/lifecycle'
import { Queue } from 'bullmq'
import { createClient } from 'redis'
import {
  bullPrefix,
  RUN_TTL_SECONDS,
  RUNS_QUEUE,
  runKeys,
  SCHEDULER_ID,
  STARTS_QUEUE,
  startJobId,
  WORKER_SILENCE_MS,
} from './names.js'
import { checkRunRequest, type RunOutcome, refusal } from './requests.js'
import { ADMIT_SCRIPT, CANCEL_SCRIPT, UNADMIT_SCRIPT } from './scripts.js'

/** What a start job carries: the request, and what only the fleet itself may ask for. */
export interface StartJobData {
  readonly task_id: string
  readonly request: RunRequest
  /** Stocks per second at most (the demo); as fast as possible when absent. */
  readonly pace?: number
  /** What asked: `api`, `cli`, `schedule`, `demo`. */
  readonly trigger: string
  /** Who asked (the token's subject): told how the run ended on `events:user:{id}`. */
  readonly user_id?: string
  /** The bars' date (`YYYY-MM-DD`; a scheduled run's is its tick's); today when absent. */
  readonly date?: string
}

export interface RunQueueOptions {
  /** Redis the workers use. */
  readonly url: string
  /** The deployment's key prefix (`KEY_PREFIX`). */
  readonly prefix: string
  /** The clock for generated task ids. */
  readonly now?: () => Date
}

export interface SubmitOptions {
  readonly pace?: number
  readonly trigger?: string
  /** A user id (1-64 of A-Z a-z 0-9 _ . -); others are left out. */
  readonly userId?: string
  /** The bars' date, `YYYY-MM-DD` (the schedule's tick); the worker's today when absent. */
  readonly date?: string
}

/** The schedule as BullMQ holds it; undefined while no worker has set it up. */
export interface ScheduleInfo {
  readonly cron: string
  readonly tz: string
  readonly nextRunAt: Date | undefined
}

/** Submits and cancels runs on the fleet's queue. Never throws: every refusal is an outcome. */
export interface RunQueue {
  /** Admits the run (one at a time) and queues its start: 202, 400, 409 or 503. */
  submit(request: unknown, options?: SubmitOptions): Promise<RunOutcome>
  /** Marks the run cancelled: 202, 404 (unknown), 409 (finished or finishing), 503. */
  cancel(taskId: string, reason?: string): Promise<RunOutcome>
  /** The fleet's scheduled run; rejects when Redis cannot be read. */
  schedule(): Promise<ScheduleInfo | undefined>
  /**
   * The workers heard from in the last 10 minutes, by instance id; entries that are not a valid
   * WorkerInfo are left out. Rejects when Redis cannot be read.
   */
  workers(): Promise<WorkerInfo[]>
  close(): Promise<void>
}

export function createRunQueue(options: RunQueueOptions): RunQueue {
  const { url, prefix, now = () => new Date() } = options
  const keys = runKeys(prefix)
  const redis = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: READY_WAIT_MS,
      reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 2_000),
    },
  })
  redis.on('error', () => {})
  const connection = connectInBackground(redis)
  // BullMQ's queues and their own connection (it waits out a reconnection instead of failing at
  // once), made on first use: a queue closed before it connected would leave its socket open.
  // `starts` is the one queue the gateway's Redis user may write; `runs` is only read here (the
  // schedule), and a worker's RunQueue never reads it.
  let bullClient: typeof redis | undefined
  let starts: Queue<StartJobData> | undefined
  let runsQueue: Queue | undefined
  const bullOptions = () => {
    if (!bullClient) {
      bullClient = redis.duplicate({ disableOfflineQueue: false })
      bullClient.on('error', () => {})
    }
    // No INFO (a dangerous command the gateway's Redis user does not have).
    return { connection: bullClient, prefix: bullPrefix(prefix), skipVersionCheck: true }
  }
  const startsQueue = () => {
    if (!starts) {
      starts = new Queue<StartJobData>(STARTS_QUEUE, bullOptions())
      starts.on('error', () => {})
    }
    return starts
  }
  let closed: Promise<void> | undefined

  return {
    async submit(body, submitOptions = {}) {
      const checked = checkRunRequest(body)
      if (!checked.ok) return checked.outcome
      const request = checked.request
      const taskId = request.task_id ?? `calc_${now().getTime()}_${randomBytes(2).toString('hex')}`
      const data: StartJobData = {
        task_id: taskId,
        request: { ...request, task_id: taskId },
        ...(submitOptions.pace === undefined ? {} : { pace: submitOptions.pace }),
        trigger: submitOptions.trigger ?? 'api',
        ...(submitOptions.userId !== undefined && isIdentifier(submitOptions.userId)
          ? { user_id: submitOptions.userId }
          : {}),
        ...(submitOptions.date === undefined ? {} : { date: submitOptions.date }),
      }
      try {
        await ready()
        const [verdict, id] = (await redis.eval(ADMIT_SCRIPT, {
          keys: [keys.active, keys.state(taskId)],
          arguments: [
            taskId,
            JSON.stringify(data.request),
            String(now().getTime()),
            String(RUN_TTL_SECONDS),
            keys.statePrefix,
          ],
        })) as [string, string]
        if (verdict === 'busy') {
          return refusal(
            409,
            RunErrorCode.RUN_IN_PROGRESS,
            `run ${id} is still running; runs do not overlap`,
          )
        }
        if (verdict === 'exists') {
          return refusal(409, RunErrorCode.RUN_EXISTS, `a run with task id ${id} already exists`)
        }
        try {
          await withDeadline(
            startsQueue().add('start', data, {
              jobId: startJobId(taskId),
              // Starting is idempotent while the run is queued or starting: a blip is tried again.
              attempts: START_ATTEMPTS,
              backoff: { type: 'exponential', delay: START_BACKOFF_MS },
              removeOnComplete: { age: RUN_TTL_SECONDS },
              removeOnFail: { age: RUN_TTL_SECONDS },
            }),
          )
        } catch (error) {
          await redis
            .eval(UNADMIT_SCRIPT, { keys: [keys.active, keys.state(taskId)], arguments: [taskId] })
            .catch(() => {})
          throw error
        }
        return { status: 202, body: { task_id: taskId } }
      } catch (error) {
        return unavailable(error)
      }
    },
    async cancel(taskId, reason = 'cancelled by request') {
      if (!isIdentifier(taskId)) return refusal(404, RunErrorCode.UNKNOWN_RUN, 'no run has this id')
      try {
        await ready()
        const verdict = (await redis.eval(CANCEL_SCRIPT, {
          keys: [keys.state(taskId), keys.cancel(taskId)],
          arguments: [reason, String(RUN_TTL_SECONDS)],
        })) as string
        if (verdict === 'ok') return { status: 202, body: { task_id: taskId } }
        if (verdict === 'unknown') {
          return refusal(404, RunErrorCode.UNKNOWN_RUN, `no run has the id ${taskId}`)
        }
        return refusal(
          409,
          RunErrorCode.RUN_FINISHED,
          verdict === 'finishing'
            ? `run ${taskId} is finishing (its chunks are all done): too late to cancel`
            : `run ${taskId} has finished: nothing to cancel`,
        )
      } catch (error) {
        return unavailable(error)
      }
    },
    async schedule() {
      await ready()
      if (!runsQueue) {
        runsQueue = new Queue(RUNS_QUEUE, bullOptions())
        runsQueue.on('error', () => {})
      }
      const scheduler = await withDeadline(runsQueue.getJobScheduler(SCHEDULER_ID))
      if (!scheduler?.pattern) return undefined
      return {
        cron: scheduler.pattern,
        tz: scheduler.tz ?? 'UTC',
        nextRunAt: scheduler.next === undefined ? undefined : new Date(scheduler.next),
      }
    },
    async workers() {
      await ready()
      const cutoff = now().getTime() - WORKER_SILENCE_MS
      const entries = Object.entries(await redis.hGetAll(keys.workers))
      const workers: WorkerInfo[] = []
      for (const [, json] of entries) {
        let value: unknown
        try {
          value = JSON.parse(json)
        } catch {
          continue
        }
        if (isWorkerInfo(value) && Date.parse(value.last_seen) >= cutoff) workers.push(value)
      }
      return workers.sort((a, b) => a.instance_id.localeCompare(b.instance_id))
    },
    close() {
      closed ??= (async () => {
        if (bullClient) {
          const client = bullClient
          await withDeadline(Promise.all([starts?.close(), runsQueue?.close()])).catch(() => {})
          if (client.isOpen) await withDeadline(client.close()).catch(() => client.destroy())
        }
        await connection.close()
      })()
      return closed
    },
  }

  // Waits a moment for Redis (a queue made just now is still connecting), then gives up.
  async function ready(): Promise<void> {
    if (!redis.isReady) {
      const deadline = new AbortController()
      await Promise.race([
        once(redis, 'ready', { signal: deadline.signal }).catch(() => {}),
        sleep(READY_WAIT_MS, undefined, { signal: deadline.signal }).catch(() => {}),
      ])
      deadline.abort()
    }
    if (!redis.isReady) throw new Error('Redis is not reachable')
  }
}

/** Tries of a run's start job; when the last fails, a worker closes the run as failed. */
const START_ATTEMPTS = 3
/** First retry delay of a start job, doubled at each retry. */
const START_BACKOFF_MS = 1_000

/** Longest a request waits for Redis to be reachable before it is answered 503. */
const READY_WAIT_MS = 2_000

/** Longest a queue command may take before the request is answered 503. */
const QUEUE_DEADLINE_MS = 5_000

function withDeadline<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error('the queue did not answer in time')),
      QUEUE_DEADLINE_MS,
    )
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

function unavailable(error: unknown): RunOutcome {
  const message = error instanceof Error ? error.message : String(error)
  return refusal(503, RunErrorCode.UNAVAILABLE, `the run queue is unavailable: ${message}`)
}
