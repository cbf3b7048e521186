import {
  NoticeCode,
  TASKS_ALL,
  type TaskCompletedEvent,
  type TaskProgressEvent,
  type TaskResult,
  type TaskStatus,
} from '@stockpulse/events'
import { type ComputedRef, computed, type ShallowRef, shallowRef } from 'vue'
import type { UseEventStreamReturn } from './useEventStream'

/** One task as the dashboard knows it, folded from its task.progress and task.completed events. */
export interface TaskView {
  readonly id: string
  readonly type: string
  readonly status: TaskStatus
  /** Percent done, 0..100. */
  readonly progress: number
  readonly processed: number
  /** Stocks in the job; 0 while unknown. */
  readonly total: number
  readonly failed: number
  readonly message: string
  /** Epoch ms of the task's start: its `started_at`, else its first event, or the end minus the duration. */
  readonly startedAt: number
  /** Epoch ms of the newest event folded in. */
  readonly updatedAt: number
  /** Progress samples (epoch ms, processed) of the last THROUGHPUT_WINDOW_MS, oldest first. */
  readonly samples: readonly ProgressSample[]
  /** Set by task.completed. */
  readonly durationSeconds?: number
  readonly result?: TaskResult
  /** The gateway's `task_stale` notice: running, but silent for a while. Its next event clears it. */
  readonly stale?: string
}

export interface ProgressSample {
  readonly at: number
  readonly processed: number
}

export interface UseTasksOptions {
  /** Tasks kept, newest first. */
  limit?: number
  /** Called once per task when its task.completed arrives. */
  onSettled?: (task: TaskView) => void
}

export interface UseTasksReturn {
  /** Newest first. */
  readonly tasks: ComputedRef<readonly TaskView[]>
  /** The newest running task, else the newest task. */
  readonly active: ComputedRef<TaskView | undefined>
  readonly byId: Readonly<ShallowRef<ReadonlyMap<string, TaskView>>>
}

/** Throughput is measured over this much recent progress. */
export const THROUGHPUT_WINDOW_MS = 10_000

/** Follows every task on `events:tasks`. */
export function useTasks(
  stream: UseEventStreamReturn,
  options: UseTasksOptions = {},
): UseTasksReturn {
  const { limit = 20, onSettled } = options
  const byId = shallowRef<ReadonlyMap<string, TaskView>>(new Map())

  function fold(event: TaskProgressEvent | TaskCompletedEvent) {
    const before = byId.value.get(event.task_id)
    const after = applyTaskEvent(before, event)
    if (after === before) return
    const next = new Map(byId.value).set(event.task_id, after)
    for (const stale of [...next.values()].sort(newestFirst).slice(limit)) next.delete(stale.id)
    byId.value = next
    if (after.result && !before?.result) onSettled?.(after)
  }

  stream.subscribe([TASKS_ALL])
  stream.on('task.progress', fold)
  stream.on('task.completed', fold)
  stream.onNotice((notice) => {
    const task = notice.task_id === undefined ? undefined : byId.value.get(notice.task_id)
    if (notice.code !== NoticeCode.TASK_STALE || !task || task.result) return
    byId.value = new Map(byId.value).set(task.id, { ...task, stale: notice.message })
  })

  const tasks = computed(() => [...byId.value.values()].sort(newestFirst))
  const active = computed(
    () => tasks.value.find((task) => task.status === 'running') ?? tasks.value[0],
  )
  return { tasks, active, byId }
}

/**
 * Folds one event into a task. Returns `task` itself when the event changes nothing: a progress
 * event older than what is known, or anything after task.completed.
 */
export function applyTaskEvent(
  task: TaskView | undefined,
  event: TaskProgressEvent | TaskCompletedEvent,
): TaskView {
  const at = Date.parse(event.timestamp)
  if (task?.result) return task
  if (event.event_type === 'task.completed') {
    const processed = event.result.success + event.result.failed
    return {
      id: event.task_id,
      type: event.task_type,
      status: event.status,
      progress: event.status === 'completed' ? 100 : (task?.progress ?? 0),
      processed,
      total: Math.max(task?.total ?? 0, processed),
      failed: event.result.failed,
      message: event.message ?? task?.message ?? '',
      startedAt: task?.startedAt ?? at - event.duration_seconds * 1000,
      updatedAt: at,
      samples: task?.samples ?? [],
      durationSeconds: event.duration_seconds,
      result: event.result,
    }
  }
  if (task && at < task.updatedAt) return task
  const samples = [...(task?.samples ?? []), { at, processed: event.processed }]
  const firstInWindow = samples.findIndex((sample) => sample.at > at - THROUGHPUT_WINDOW_MS)
  return {
    id: event.task_id,
    type: event.task_type,
    status: event.status,
    progress: event.progress,
    processed: event.processed,
    total: event.total,
    failed: event.failed,
    message: event.message,
    startedAt: event.started_at ? Date.parse(event.started_at) : (task?.startedAt ?? at),
    updatedAt: at,
    // keep one sample before the window so the rate spans all of it
    samples: samples.slice(Math.max(0, firstInWindow - 1)),
  }
}

/** Stocks per second: over the recent samples while running, over the whole run once settled. */
export function throughput(task: TaskView): number | undefined {
  if (task.durationSeconds !== undefined)
    return task.durationSeconds > 0 ? task.processed / task.durationSeconds : undefined
  const first = task.samples[0]
  const last = task.samples.at(-1)
  if (!first || !last || last.at <= first.at) return undefined
  return ((last.processed - first.processed) * 1000) / (last.at - first.at)
}

/** Seconds left at the current throughput; undefined when unknown, stale or settled. */
export function etaSeconds(task: TaskView): number | undefined {
  const rate = throughput(task)
  if (task.result || task.stale || task.total === 0 || !rate) return undefined
  return Math.max(0, task.total - task.processed) / rate
}

/** Seconds since the task started (`now` in epoch ms), or its duration once settled. */
export function elapsedSeconds(task: TaskView, now: number): number {
  return task.durationSeconds ?? Math.max(0, (now - task.startedAt) / 1000)
}

function newestFirst(a: TaskView, b: TaskView): number {
  return b.startedAt - a.startedAt
}
