import { NoticeCode, parseEvent } from '@stockpulse/events'
import type { History } from './history.js'
import type { Logger } from './logger.js'

export interface StaleTasksOptions {
  readonly history: History
  /** STALE_TASK_S: how long a running task may stay silent. */
  readonly staleMs: number
  /** SWEEP_INTERVAL_S: how often the task state is read. */
  readonly intervalMs: number
  readonly logger: Logger
  /** Sends a `task_stale` notice to the subscribers of the task's channels. */
  readonly notify: (taskId: string, notice: string) => void
}

export interface StaleTasks {
  /** Stale tasks found by the last sweep. */
  readonly count: number
  stop(): void
}

/**
 * Every interval: reads the latest progress of the running tasks and sends one `task_stale`
 * notice for each task silent for `staleMs`, once until it sends a new event (its progress in
 * the task state changes) and is silent again. A sweep Redis does not answer is skipped.
 */
export function startStaleTasks(options: StaleTasksOptions): StaleTasks {
  const { history, staleMs, intervalMs, logger, notify } = options
  /** task id -> timestamp of the progress it was found stale with (and notified). */
  let notified = new Map<string, string>()
  let sweeping = false
  const timer = setInterval(() => void sweep(), intervalMs).unref()
  return {
    get count() {
      return notified.size
    },
    stop: () => clearInterval(timer),
  }

  async function sweep(): Promise<void> {
    if (sweeping) return
    sweeping = true
    try {
      const now = Date.now()
      const found = new Map<string, string>()
      for (const text of await history.activeTasks()) {
        const stale = staleTask(text, staleMs, now)
        if (!stale) continue
        found.set(stale.taskId, stale.timestamp)
        if (notified.get(stale.taskId) !== stale.timestamp) notify(stale.taskId, stale.notice)
      }
      notified = found
    } catch (error) {
      logger.debug({ error: (error as Error).message }, 'stale tasks not checked')
    } finally {
      sweeping = false
    }
  }
}

/** A task state entry (latest `task.progress` JSON) that is running but silent for `staleMs`. */
export interface StaleTask {
  readonly taskId: string
  readonly timestamp: string
  /** The `task_stale` notice frame, as text. */
  readonly notice: string
}

/** The entry as a stale task, or undefined when it is not one (or not a valid `task.progress`). */
export function staleTask(text: string, staleMs: number, now: number): StaleTask | undefined {
  const parsed = parseEvent(text)
  if (!parsed.ok || parsed.value.event_type !== 'task.progress') return undefined
  const { task_id: taskId, status, timestamp } = parsed.value
  const silentMs = now - Date.parse(timestamp)
  if (status !== 'running' || !(silentMs > staleMs)) return undefined
  const notice = JSON.stringify({
    type: 'notice',
    code: NoticeCode.TASK_STALE,
    task_id: taskId,
    message: `Task ${taskId} is still running but sent no event for ${Math.round(silentMs / 1000)} s: its worker may have died.`,
  })
  return { taskId, timestamp, notice }
}
