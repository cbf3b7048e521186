import { type InjectionKey, inject, provide } from 'vue'
import type { DashboardConfig } from '../config'
import { formatCount, formatDuration } from '../lib/format'
import { type UseEventStreamReturn, useEventStream } from './useEventStream'
import { type UseRecoveryNoticeReturn, useRecoveryNotice } from './useRecoveryNotice'
import { type UseRunControlReturn, useRunControl } from './useRunControl'
import { type UseRunHistoryReturn, useRunHistory } from './useRunHistory'
import { type UseSessionReturn, useSession } from './useSession'
import { type TaskView, type UseTasksReturn, useTasks } from './useTasks'
import { type Toast, type UseToastsReturn, useToasts } from './useToasts'
import { type UseWorkersReturn, useWorkers } from './useWorkers'

/** The app-wide state every view shares: one connection, the task list, workers and toasts. */
export interface Dashboard {
  readonly config: DashboardConfig
  readonly stream: UseEventStreamReturn
  readonly recovery: UseRecoveryNoticeReturn
  readonly tasks: UseTasksReturn
  /** The last finished runs (`GET /ws/history`), refetched when a task completes. */
  readonly history: UseRunHistoryReturn
  readonly workers: UseWorkersReturn
  readonly toasts: UseToastsReturn
  /** The token's scopes and the gateway's mode (`GET /api/session`). */
  readonly session: UseSessionReturn
  /** Start, Cancel and Re-run (`POST /api/runs`). */
  readonly control: UseRunControlReturn
}

const DASHBOARD: InjectionKey<Dashboard> = Symbol('dashboard')

/** A task that ended longer ago than this (seen in a replay) gets no toast. */
export const SETTLED_TOAST_WINDOW_MS = 60_000

/** Builds the dashboard state and provides it to the component's descendants; call in the root. */
export function provideDashboard(config: DashboardConfig): Dashboard {
  const stream = useEventStream({ url: config.eventsUrl, token: config.token, immediate: false })
  const toasts = useToasts()
  const tasks = useTasks(stream, {
    // A task's page replays its whole channel: an end long past is history, not news.
    onSettled: (task) => {
      if (Date.now() - task.updatedAt < SETTLED_TOAST_WINDOW_MS) toasts.push(settledToast(task))
    },
  })
  const history = useRunHistory(stream, { url: config.historyUrl, token: config.token })
  const workers = useWorkers(stream)
  const recovery = useRecoveryNotice(stream)
  const session = useSession({ apiUrl: config.apiUrl, token: config.token })
  const control = useRunControl({
    apiUrl: config.apiUrl,
    token: config.token,
    notify: toasts.push,
    storage: globalThis.localStorage,
  })
  stream.open()
  const dashboard = { config, stream, recovery, tasks, history, workers, toasts, session, control }
  provide(DASHBOARD, dashboard)
  return dashboard
}

/** The dashboard provided by the root component. */
export function useDashboard(): Dashboard {
  const dashboard = inject(DASHBOARD)
  if (!dashboard) throw new Error('useDashboard() needs provideDashboard() in an ancestor.')
  return dashboard
}

/** The toast announcing that a task ended. */
export function settledToast(task: TaskView): Omit<Toast, 'id'> {
  const took = `${formatCount(task.processed)} stocks in ${formatDuration(task.durationSeconds ?? 0)}`
  const failed = task.failed > 0 ? `, ${formatCount(task.failed)} failed` : ''
  return {
    level: task.status !== 'completed' ? 'error' : task.failed > 0 ? 'warning' : 'success',
    title: `Task ${task.id} ${task.status}`,
    message: `${took}${failed}`,
  }
}
