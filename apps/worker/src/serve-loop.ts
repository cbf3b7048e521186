import { hostname } from 'node:os'
import type { SystemHeartbeatEvent, WorkerInfo } from '@stockpulse/events'
import { type RunQueue, runKeys, WORKER_SILENCE_MS } from '@stockpulse/runs'
import type { Logger } from 'pino'
import type { IndicatorCache } from './cache.js'
import type { WorkerConfig } from './config.js'
import type { Database } from './database.js'
import { type Heartbeat, startHeartbeat } from './heartbeat.js'
import { demoPace } from './job-source.js'
import type { Publisher } from './publisher.js'
import { type QueueWorker, startQueueWorker } from './queue-worker.js'
import type { RedisClient } from './redis.js'
import type { ResultStore } from './result-store.js'
import type { RunPublisher } from './run-scripts.js'
import { previousTick } from './schedule.js'
import type { TaskRunner } from './task-runner.js'
import type { WorkerMetrics } from './worker-metrics.js'

export interface ServeLoopOptions {
  readonly config: WorkerConfig
  readonly runner: TaskRunner
  /** Heartbeats, a run's first event, user notifications. */
  readonly events: Publisher
  readonly redis: RedisClient
  readonly publisher: RunPublisher
  readonly queue: RunQueue
  /** PostgreSQL, for the chunks of postgres runs (`config.database`). */
  readonly database?: Database
  readonly cache?: IndicatorCache
  readonly results?: ResultStore
  readonly logger: Logger
  readonly now: () => Date
  /** Shows when the schedule came due last and comes due next. */
  readonly metrics: WorkerMetrics
}

/** `serve`: chunks and runs from the queue, heartbeats and the registry, the demo run. */
export interface ServeLoop {
  /** When the fleet's schedule fires next (from BullMQ); undefined once stopped or unknown. */
  readonly next: Date | undefined
  /** `<task_id>#<index>` of a chunk this worker computes now. */
  readonly currentChunk: string | undefined
  /** Takes no new job, lets those in flight finish, beats `stopping` one last time. */
  stop(): Promise<void>
}

export function startServeLoop(options: ServeLoopOptions): ServeLoop {
  const { config, events, redis, queue, logger, now, metrics } = options
  const keys = runKeys(config.keyPrefix)
  const host = hostname()
  let stopping = false
  let next: Date | undefined
  const worker: QueueWorker = startQueueWorker({
    config,
    redis,
    events,
    publisher: options.publisher,
    runner: options.runner,
    queue,
    ...(options.database ? { database: options.database } : {}),
    ...(options.cache ? { cache: options.cache } : {}),
    ...(options.results ? { results: options.results } : {}),
    metrics,
    logger,
    now,
  })
  const currentChunk = () => worker.chunks.running.values().next().value
  const refreshSchedule = () => {
    worker.nextRunAt().then(
      (at) => {
        next = stopping ? undefined : at
        metrics.schedule(
          stopping ? undefined : previousTick(config.serve.schedule, config.timeZone, now()),
          next,
        )
      },
      () => {},
    )
  }
  refreshSchedule()
  const heartbeat: Heartbeat = startHeartbeat({
    publisher: events,
    instanceId: config.serve.instanceId,
    intervalMs: config.serve.heartbeatSeconds * 1000,
    state: () => {
      const chunk = currentChunk()
      return {
        status: stopping ? 'stopping' : redis.isReady ? 'ok' : 'degraded',
        ...(chunk ? { active_task_id: chunk.slice(0, chunk.lastIndexOf('#')) } : {}),
        host,
        threads: config.job.concurrency,
        chunks_done: worker.chunks.chunksDone,
        ...(chunk ? { current_chunk: chunk } : {}),
        ...(next ? { next_run_at: next.toISOString() } : {}),
      }
    },
    onBeat: (event) => {
      register(event)
      refreshSchedule()
    },
  })
  logger.info(
    { schedule: config.serve.schedule, time_zone: config.timeZone, demo: config.serve.demo },
    'worker serving',
  )
  if (config.serve.demo) {
    queue.submit({}, { pace: demoPace(config.job), trigger: 'demo' }).then((outcome) => {
      if (outcome.status === 202)
        logger.info({ task_id: outcome.body.task_id }, 'demo run submitted')
      else logger.warn({ reason: outcome.body.reason }, 'demo run not submitted')
    })
  }
  let stopped: Promise<void> | undefined

  return {
    get next() {
      return stopping ? undefined : next
    },
    get currentChunk() {
      return currentChunk()
    },
    stop() {
      stopped ??= (async () => {
        stopping = true
        metrics.schedule(undefined, undefined)
        heartbeat.beat()
        heartbeat.stop()
        await worker.close()
      })()
      return stopped
    },
  }

  // Writes this worker's entry of the registry and drops the entries of workers silent too long.
  function register(event: SystemHeartbeatEvent): void {
    const info: WorkerInfo = {
      instance_id: event.instance_id,
      host,
      threads: config.job.concurrency,
      chunks_done: worker.chunks.chunksDone,
      ...(event.current_chunk ? { current_chunk: event.current_chunk } : {}),
      status: event.status,
      last_seen: event.timestamp,
      uptime_seconds: event.uptime_seconds,
    }
    ;(async () => {
      await redis.hSet(keys.workers, info.instance_id, JSON.stringify(info))
      const cutoff = now().getTime() - WORKER_SILENCE_MS
      const silent = Object.entries(await redis.hGetAll(keys.workers))
        .filter(([, json]) => !(lastSeen(json) >= cutoff))
        .map(([id]) => id)
      if (silent.length > 0) await redis.hDel(keys.workers, silent)
    })().catch(() => {})
  }
}

function lastSeen(json: string): number {
  try {
    const value = JSON.parse(json) as { last_seen?: unknown }
    return typeof value.last_seen === 'string' ? Date.parse(value.last_seen) : Number.NaN
  } catch {
    return Number.NaN
  }
}
