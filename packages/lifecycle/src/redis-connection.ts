/** The part of a node-redis client (version 5 and later) that opening and closing needs. */
export interface RedisConnection {
  readonly isOpen: boolean
  readonly isReady: boolean
  connect(): Promise<unknown>
  close(): Promise<unknown>
  destroy(): void
  on(event: ConnectionEvent, listener: () => void): unknown
  off(event: ConnectionEvent, listener: () => void): unknown
}

type ConnectionEvent = 'reconnecting' | 'connect' | 'error'

/** A client connecting in the background that can be closed whatever it is doing. */
export interface ManagedConnection {
  /** Closes gracefully when ready, else drops the connection; resolves once nothing is left open. */
  close(): Promise<void>
}

/**
 * Starts connecting `client` without waiting (it retries by its own reconnect strategy) and
 * follows its connection attempts: node-redis (5.12 to 6.3 at least) leaks the socket of a client
 * destroyed while its TCP connection is being set up, which then connects anyway, keeps the
 * process alive and can no longer be closed. `close()` therefore lets that step end first (it is
 * bounded by the client's connect timeout).
 */
export function connectInBackground(client: RedisConnection): ManagedConnection {
  let attempting = true
  let settled: (() => void) | undefined
  const starts = () => {
    attempting = true
  }
  const ends = () => {
    attempting = false
    settled?.()
  }
  client.on('reconnecting', starts)
  client.on('connect', ends)
  client.on('error', ends)
  client.connect().catch(() => {})
  let closed: Promise<void> | undefined
  return {
    close() {
      closed ??= (async () => {
        if (attempting && client.isOpen) {
          await new Promise<void>((resolve) => {
            settled = resolve
          })
        }
        client.off('reconnecting', starts)
        client.off('connect', ends)
        client.off('error', ends)
        if (client.isReady) await client.close().catch(() => {})
        if (client.isOpen) client.destroy()
      })()
      return closed
    },
  }
}
