import { CloseCode } from '@stockpulse/events'
import { WebSocket } from 'ws'
import { type Connection, shut } from './connection.js'
import type { OutboundEvent } from './fanout.js'
import type { GatewayStats } from './metrics.js'

export interface BackpressureOptions {
  /** MAX_CLIENT_BUFFER_BYTES: unsent bytes a socket may hold before it counts as slow. */
  readonly capBytes: number
  readonly stats: GatewayStats
  /** Writes events to a connection now (used when a slow connection catches up). */
  readonly write: (connection: Connection, events: readonly OutboundEvent[]) => void
  /** How often connections holding conflated progress are checked for having drained. */
  readonly checkIntervalMs?: number
  /** Most tasks whose progress one slow connection may hold back. */
  readonly maxPendingTasks?: number
}

export interface Backpressure {
  /**
   * Out of the events queued for `connection` this tick, those to write now. Under the cap: all
   * (after any progress held back). Over it: `task.progress` is held back, latest per task; other
   * events are written while the socket holds less than twice the cap, beyond which it is closed
   * with SLOW_CLIENT.
   */
  admit(connection: Connection, queued: readonly OutboundEvent[]): readonly OutboundEvent[]
  /** Connections over the cap and holding progress back. */
  readonly congested: number
  stop(): void
}

const defaults = { checkIntervalMs: 25, maxPendingTasks: 16 }
const NONE: readonly OutboundEvent[] = []

export function createBackpressure(options: BackpressureOptions): Backpressure {
  const { capBytes, stats, write, checkIntervalMs, maxPendingTasks } = { ...defaults, ...options }
  const congested = new Set<Connection>()
  let timer: NodeJS.Timeout | undefined

  return {
    admit(connection, queued) {
      const buffered = connection.bufferedAmount
      const pending = connection.pending
      if (buffered <= capBytes) {
        if (!pending) return queued
        release(connection)
        return [...pending.values(), ...queued]
      }
      return admitOverCap(connection, queued, 2 * capBytes - buffered)
    },
    get congested() {
      return congested.size
    },
    stop() {
      clearInterval(timer)
      timer = undefined
    },
  }

  function admitOverCap(
    connection: Connection,
    queued: readonly OutboundEvent[],
    budget: number,
  ): readonly OutboundEvent[] {
    const admitted: OutboundEvent[] = []
    for (const event of queued) {
      if (event.eventType === 'task.progress') {
        connection.pending ??= new Map()
        const pending = connection.pending
        if (pending.delete(event.taskId)) stats.dropped.conflated++
        pending.set(event.taskId, event)
        if (pending.size > maxPendingTasks) return closeSlow(connection, queued.length)
        continue
      }
      // A task's last event makes its held-back progress stale.
      if (event.eventType === 'task.completed' && connection.pending?.delete(event.taskId)) {
        stats.dropped.conflated++
      }
      if (event.size > budget) return closeSlow(connection, queued.length - admitted.length)
      budget -= event.size
      admitted.push(event)
    }
    if (connection.pending?.size) watch(connection)
    return admitted
  }

  function closeSlow(connection: Connection, undelivered: number): readonly OutboundEvent[] {
    stats.dropped.slow_client += undelivered + (connection.pending?.size ?? 0)
    stats.slowDisconnects++
    release(connection)
    shut(connection, CloseCode.SLOW_CLIENT, 'client too slow')
    return NONE
  }

  function release(connection: Connection): void {
    connection.pending = undefined
    congested.delete(connection)
  }

  function watch(connection: Connection): void {
    congested.add(connection)
    timer ??= setInterval(checkDrained, checkIntervalMs).unref()
  }

  /** The 'drain'-like check: hands held-back progress to connections that caught up. */
  function checkDrained(): void {
    for (const connection of congested) {
      if (connection.readyState !== WebSocket.OPEN) {
        release(connection)
      } else if (connection.bufferedAmount <= capBytes && connection.pending) {
        const events = [...connection.pending.values()]
        release(connection)
        write(connection, events)
      }
    }
    if (congested.size === 0) {
      clearInterval(timer)
      timer = undefined
    }
  }
}
