import {
  createTaskCompletedEvent,
  type HistoryKeys,
  parseEvent,
  TASKS_ALL,
  type TaskProgressEvent,
  taskChannel,
} from '@stockpulse/events'
import type { Logger } from 'pino'
import type { Publisher } from './publisher.js'
import type { RedisClient } from './redis.js'

export interface StaleTaskOptions {
  readonly redis: RedisClient
  readonly keys: HistoryKeys
  /** Where the closing `task.completed` events go: the history path, which also clears the hash. */
  readonly publisher: Publisher
  /** A running task whose latest event is older than this was lost with its worker. */
  readonly staleSeconds: number
  readonly now: () => Date
  readonly logger: Logger
}

export interface StaleTaskReport {
  /** Ids of the tasks closed as failed. */
  readonly closed: readonly string[]
  /** Entries of the hash that are not a valid `task.progress`, left alone. */
  readonly invalid: number
}

/**
 * Closes every task of `keys.tasks` that is `running` but silent for `staleSeconds`: the worker
 * that ran it died, and the worker is the only writer of task events. Each gets a
 * `task.completed` with status `failed`, its last counts, the time from its first event (kept in
 * its task stream) to its last, or 0 when the first is gone. Rejects when Redis is unreachable.
 */
export async function closeStaleTasks(options: StaleTaskOptions): Promise<StaleTaskReport> {
  const { redis, keys, publisher, staleSeconds, now, logger } = options
  const cutoff = now().getTime() - staleSeconds * 1000
  const stale: TaskProgressEvent[] = []
  let invalid = 0
  for (const [field, json] of Object.entries(await redis.hGetAll(keys.tasks))) {
    const parsed = parseEvent(json)
    if (!parsed.ok || parsed.value.event_type !== 'task.progress') {
      invalid++
      logger.warn({ field }, 'task state entry is not a task.progress: left alone')
      continue
    }
    const last = parsed.value
    if (last.status === 'running' && Date.parse(last.timestamp) < cutoff) stale.push(last)
  }
  const firsts = await Promise.all(stale.map((last) => firstEventTime(last.task_id)))
  for (const [i, last] of stale.entries()) {
    const first = firsts[i]
    const duration = first === undefined ? 0 : (Date.parse(last.timestamp) - first) / 1000
    const completed = createTaskCompletedEvent({
      task_id: last.task_id,
      task_type: last.task_type,
      status: 'failed',
      duration_seconds: Math.max(0, duration),
      message: `worker lost: no event since ${last.timestamp}`,
      result: { success: Math.max(0, last.processed - last.failed), failed: last.failed },
    })
    publisher.publish(completed, [TASKS_ALL, taskChannel(last.task_id)])
    logger.warn(
      { task_id: last.task_id, last_event: last.timestamp },
      'closed a stale task: its worker was lost',
    )
  }
  return { closed: stale.map((last) => last.task_id), invalid }

  async function firstEventTime(taskId: string): Promise<number | undefined> {
    const [entry] = await redis.xRange(keys.stream(taskChannel(taskId)), '-', '+', { COUNT: 1 })
    const json = entry?.message.e
    const parsed = json === undefined ? undefined : parseEvent(json)
    return parsed?.ok ? Date.parse(parsed.value.timestamp) : undefined
  }
}
