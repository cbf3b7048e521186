import { type EventBus, MIN_PACE, type SystemHeartbeatEvent } from '@stockpulse/events'
import type { Logger } from 'pino'
import { type CommandListener, type CommandStats, listenForCommands } from './commands.js'
import type { WorkerConfig } from './config.js'
import { type Heartbeat, startHeartbeat } from './heartbeat.js'
import { DEFAULT_STOCKS } from './job-source.js'
import type { Publisher } from './publisher.js'
import type { RedisClient } from './redis.js'
import { createDailySchedule, type DailySchedule } from './schedule.js'
import { overridesFromCommand, type TaskOverrides } from './task-overrides.js'
import type { TaskRunner } from './task-runner.js'
import { notifyUser } from './user-notice.js'
import type { WorkerMetrics } from './worker-metrics.js'

/** How long the `--demo` job lasts when no pace is configured. */
export const DEMO_SECONDS = 60

export interface ServeLoopOptions {
  readonly config: WorkerConfig
  readonly runner: TaskRunner
  /** Where commands arrive. */
  readonly bus: EventBus
  /** Heartbeats and user notifications. */
  readonly events: Publisher
  /** Its readiness makes the heartbeat `ok` or `degraded`. */
  readonly redis?: RedisClient
  readonly logger: Logger
  readonly now: () => Date
  /** Shows when the schedule came due last and comes due next. */
  readonly metrics: WorkerMetrics
}

/** `serve`: heartbeats, the daily schedule, commands, and the demo job when configured. */
export interface ServeLoop {
  /** When the schedule fires next; undefined once stopped. */
  readonly next: Date | undefined
  commands(): CommandStats
  /** Stops firing and listening, and beats `stopping` one last time. */
  stop(): void
}

export function startServeLoop(options: ServeLoopOptions): ServeLoop {
  const { config, runner, bus, events, redis, logger, now, metrics } = options
  let stopping = false
  const heartbeat: Heartbeat = startHeartbeat({
    publisher: events,
    instanceId: config.serve.instanceId,
    intervalMs: config.serve.heartbeatSeconds * 1000,
    state: (): Pick<SystemHeartbeatEvent, 'status' | 'active_task_id'> => {
      const taskId = runner.activeTaskId
      return {
        status: stopping ? 'stopping' : redis && !redis.isReady ? 'degraded' : 'ok',
        ...(taskId ? { active_task_id: taskId } : {}),
      }
    },
  })
  const schedule: DailySchedule = createDailySchedule({
    time: config.serve.scheduleTime,
    timeZone: config.timeZone,
    now,
    run: (at) => {
      metrics.schedule(schedule.last, schedule.next)
      const refusal = launch({}, 'schedule')
      if (refusal) logger.warn({ at, reason: refusal }, 'scheduled run skipped')
    },
  })
  metrics.schedule(schedule.last, schedule.next)
  const listener: CommandListener = listenForCommands({
    bus,
    logger,
    onStart: (command) => {
      const refusal = launch(overridesFromCommand(command), 'command')
      if (refusal && command.user_id) {
        notifyUser(events, command.user_id, {
          level: 'warning',
          title: 'Task not started',
          message: refusal,
          ...(command.task_id ? { taskId: command.task_id } : {}),
        })
      }
      return refusal
    },
    onCancel: (command) =>
      runner.cancel(command.task_id, 'cancel command')
        ? undefined
        : `task ${command.task_id} is not running`,
  })
  logger.info(
    { next_run: schedule.next, time_zone: config.timeZone, demo: config.serve.demo },
    'worker serving',
  )
  if (config.serve.demo) {
    const stocks = config.job.stocks ?? DEFAULT_STOCKS
    launch({ pace: config.job.pace ?? Math.max(MIN_PACE, stocks / DEMO_SECONDS) }, 'demo')
  }

  return {
    get next() {
      return schedule.next
    },
    commands: () => listener.stats(),
    stop() {
      if (stopping) return
      stopping = true
      schedule.stop()
      metrics.schedule(undefined, undefined)
      listener.stop()
      heartbeat.beat()
      heartbeat.stop()
    },
  }

  // Starts a task in the background; returns why it could not start.
  function launch(overrides: TaskOverrides, trigger: string): string | undefined {
    const refusal = runner.refuse(overrides)
    if (refusal) return refusal
    runner.run(overrides).catch((error: unknown) => {
      logger.error({ err: error, trigger }, 'task could not start')
    })
    return undefined
  }
}
