import type { StartTaskCommand } from '@stockpulse/events'

/** What one task may change from the configured job defaults (a start command, or `run` flags). */
export interface TaskOverrides {
  readonly taskId?: string
  /** Who asked: gets a `user.notification` when the task ends. */
  readonly userId?: string
  readonly stocks?: number
  readonly days?: number
  readonly seed?: number
  readonly date?: string
  readonly indicators?: readonly string[]
  readonly pace?: number
  /** Also write the results to this `.jsonl` or `.csv` file. */
  readonly out?: string
}

/** The overrides a `start` command asks for: each field it carries, none it omits. */
export function overridesFromCommand(command: StartTaskCommand): TaskOverrides {
  return {
    ...(command.task_id === undefined ? {} : { taskId: command.task_id }),
    ...(command.user_id === undefined ? {} : { userId: command.user_id }),
    ...(command.stocks === undefined ? {} : { stocks: command.stocks }),
    ...(command.days === undefined ? {} : { days: command.days }),
    ...(command.seed === undefined ? {} : { seed: command.seed }),
    ...(command.date === undefined ? {} : { date: command.date }),
    ...(command.indicators === undefined ? {} : { indicators: command.indicators }),
    ...(command.pace === undefined ? {} : { pace: command.pace }),
  }
}
