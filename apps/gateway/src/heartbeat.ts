import { CloseCode } from '@stockpulse/events'
import { WebSocket } from 'ws'
import { type Connection, kill, shut } from './connection.js'

export interface HeartbeatOptions {
  /** HEARTBEAT_TIMEOUT_S: longest silence allowed from a client. */
  readonly timeoutMs: number
  /** SWEEP_INTERVAL_S: how often connections are checked and pinged. */
  readonly intervalMs: number
  readonly connections: () => Iterable<Connection>
}

export interface Heartbeat {
  stop(): void
}

/**
 * Every interval: closes connections silent for the timeout with HEARTBEAT_TIMEOUT, terminates
 * those that did not answer the previous ping (a dead TCP peer), and pings the rest.
 */
export function startHeartbeat(options: HeartbeatOptions): Heartbeat {
  const { timeoutMs, intervalMs, connections } = options
  let lastSweepAt = Date.now()
  const timer = setInterval(sweep, intervalMs).unref()
  return { stop: () => clearInterval(timer) }

  function sweep(): void {
    const now = Date.now()
    // A sweep running late found this process stalled (a long task, GC, no CPU): pongs that came
    // meanwhile are still unread, so a missing one proves nothing this time.
    const stalled = now - lastSweepAt > intervalMs * 1.5
    lastSweepAt = now
    const unanswered: Connection[] = []
    for (const connection of connections()) {
      if (connection.readyState !== WebSocket.OPEN) continue
      if (now - connection.lastFrameAt >= timeoutMs) {
        shut(connection, CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout')
      } else if (connection.awaitingPong && !stalled) {
        unanswered.push(connection)
      } else {
        connection.awaitingPong = true
        connection.ping()
      }
    }
    // The verdict waits for the I/O already in the sockets: the event loop reads it before it
    // runs setImmediate callbacks, so a pong that arrived before this sweep still counts.
    if (unanswered.length > 0) {
      setImmediate(() => {
        for (const connection of unanswered) {
          if (connection.awaitingPong && connection.readyState === WebSocket.OPEN) kill(connection)
        }
      })
    }
  }
}
