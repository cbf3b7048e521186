import { createSystemHeartbeatEvent, SYSTEM, type SystemHeartbeatEvent } from '@stockpulse/events'
import type { Publisher } from './publisher.js'

/** What a worker reports at each beat besides its id and uptime. */
export type HeartbeatState = Omit<
  SystemHeartbeatEvent,
  'event_type' | 'timestamp' | 'version' | 'service' | 'instance_id' | 'uptime_seconds'
>

export interface HeartbeatOptions {
  readonly publisher: Publisher
  readonly instanceId: string
  readonly intervalMs: number
  /** The status, chunks and schedule to report at each beat. */
  readonly state: () => HeartbeatState
  /** Told of each heartbeat published (the worker registry in Redis). */
  readonly onBeat?: (event: SystemHeartbeatEvent) => void
}

/** `system.heartbeat` on `events:system`: one at start, then every `intervalMs`. */
export interface Heartbeat {
  /** Beats now, outside the interval (e.g. `stopping`). */
  beat(): void
  stop(): void
}

export function startHeartbeat(options: HeartbeatOptions): Heartbeat {
  const { publisher, instanceId, intervalMs, state, onBeat } = options
  const started = performance.now()
  const beat = () => {
    const event = createSystemHeartbeatEvent({
      service: 'worker',
      instance_id: instanceId,
      uptime_seconds: Math.round(performance.now() - started) / 1000,
      ...state(),
    })
    publisher.publish(event, [SYSTEM])
    onBeat?.(event)
  }
  beat()
  const timer = setInterval(beat, intervalMs)
  return {
    beat,
    stop: () => clearInterval(timer),
  }
}
