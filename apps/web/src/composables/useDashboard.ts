import { type InjectionKey, inject, provide } from 'vue'
import type { DashboardConfig } from '../config'
import { formatCount, formatDuration } from '../lib/format'
import { type UseEventStreamReturn, useEventStream } from './useEventStream'
import { type UseRecoveryNoticeReturn, useRecoveryNotice } from './useRecoveryNotice'
import { type TaskView, type UseTasksReturn, useTasks } from './useTasks'
import { type Toast, type UseToastsReturn, useToasts } from './useToasts'
import { type UseWorkersReturn, useWorkers } from './useWorkers'

/** The app-wide state every view shares: one connection, the task list, workers and toasts. */
export interface Dashboard {
  readonly config: DashboardConfig
  readonly stream: UseEventStreamReturn
  readonly recovery: UseRecoveryNoticeReturn
  readonly tasks: UseTasksReturn
  readonly workers: UseWorkersReturn
  readonly toasts: UseToastsReturn
}

const DASHBOARD: InjectionKey<Dashboard> = Symbol('dashboard')

/** Builds the dashboard state and provides it to the component's descendants; call in the root. */
export function provideDashboard(config: DashboardConfig): Dashboard {
  const stream = useEventStream({ url: config.eventsUrl, token: config.token, immediate: false })
  const toasts = useToasts()
  const tasks = useTasks(stream, { onSettled: (task) => toasts.push(settledToast(task)) })
  const workers = useWorkers(stream)
  const recovery = useRecoveryNotice(stream)
  stream.open()
  const dashboard = { config, stream, recovery, tasks, workers, toasts }
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
