import { createSystemHeartbeatEvent, SYSTEM, type SystemHeartbeatEvent } from '@stockpulse/events'
import type { Publisher } from './publisher.js'

export interface HeartbeatOptions {
  readonly publisher: Publisher
  readonly instanceId: string
  readonly intervalMs: number
  /** The status and active task to report at each beat. */
  readonly state: () => Pick<SystemHeartbeatEvent, 'status' | 'active_task_id'>
}

/** `system.heartbeat` on `events:system`: one at start, then every `intervalMs`. */
export interface Heartbeat {
  /** Beats now, outside the interval (e.g. `stopping`). */
  beat(): void
  stop(): void
}

export function startHeartbeat(options: HeartbeatOptions): Heartbeat {
  const { publisher, instanceId, intervalMs, state } = options
  const started = performance.now()
  const beat = () => {
    const { status, active_task_id } = state()
    publisher.publish(
      createSystemHeartbeatEvent({
        service: 'worker',
        instance_id: instanceId,
        uptime_seconds: Math.round(performance.now() - started) / 1000,
        status,
        ...(active_task_id === undefined ? {} : { active_task_id }),
      }),
      [SYSTEM],
    )
  }
  beat()
  const timer = setInterval(beat, intervalMs)
  return {
    beat,
    stop: () => clearInterval(timer),
  }
}
