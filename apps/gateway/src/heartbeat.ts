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
  const timer = setInterval(sweep, intervalMs).unref()
  return { stop: () => clearInterval(timer) }

  function sweep(): void {
    const now = Date.now()
    for (const connection of connections()) {
      if (connection.readyState !== WebSocket.OPEN) continue
      if (now - connection.lastFrameAt >= timeoutMs) {
        shut(connection, CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout')
      } else if (connection.awaitingPong) {
        kill(connection)
      } else {
        connection.awaitingPong = true
        connection.ping()
      }
    }
  }
}
