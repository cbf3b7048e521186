import {
  createUserNotificationEvent,
  type UserNotificationEvent,
  userChannel,
} from '@stockpulse/events'
import type { JobSummary } from './job.js'
import type { Publisher } from './publisher.js'

/** Publishes a `user.notification` on `events:user:{userId}`. */
export function notifyUser(
  publisher: Publisher,
  userId: string,
  notice: Pick<UserNotificationEvent, 'level' | 'title' | 'message'> & { readonly taskId?: string },
): void {
  const { level, title, message, taskId } = notice
  publisher.publish(
    createUserNotificationEvent({
      user_id: userId,
      level,
      title,
      message,
      ...(taskId === undefined ? {} : { task_id: taskId }),
    }),
    [userChannel(userId)],
  )
}

/** Tells the user who asked for a task how it ended. */
export function notifyTaskEnd(
  publisher: Publisher,
  userId: string,
  summary: Pick<JobSummary, 'task_id' | 'status' | 'failed' | 'message'>,
): void {
  const level =
    summary.status === 'failed'
      ? 'error'
      : summary.status === 'completed' && summary.failed === 0
        ? 'success'
        : 'warning'
  notifyUser(publisher, userId, {
    level,
    title: `Task ${summary.task_id} ${summary.status}`,
    message: summary.message,
    taskId: summary.task_id,
  })
}
