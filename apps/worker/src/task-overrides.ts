import type { RunRequest } from '@stockpulse/events'

/** What one task may change from the configured job defaults (a run request, or `run` flags). */
export interface TaskOverrides {
  readonly taskId?: string
  readonly stocks?: number
  readonly days?: number
  readonly seed?: number
  readonly date?: string
  readonly indicators?: readonly string[]
  readonly pace?: number
  /** Also write the results to this `.jsonl` or `.csv` file. */
  readonly out?: string
}

/** The overrides a run request asks for: each field it carries, none it omits. */
export function overridesFromRequest(request: RunRequest): TaskOverrides {
  return {
    ...(request.task_id === undefined ? {} : { taskId: request.task_id }),
    ...(request.stocks === undefined ? {} : { stocks: request.stocks }),
    ...(request.days === undefined ? {} : { days: request.days }),
    ...(request.seed === undefined ? {} : { seed: request.seed }),
    ...(request.indicators === undefined ? {} : { indicators: request.indicators }),
  }
}
