import type { BusListener, EventBus } from '@stockpulse/events'
import { connectInBackground, type ManagedConnection } from '@stockpulse/lifecycle'
import type { Logger } from 'pino'
import { createClient } from 'redis'

/** The node-redis client the worker uses. */
export type RedisClient = ReturnType<typeof createClient>

/** Longest wait between two reconnection attempts. */
export const MAX_RECONNECT_DELAY_MS = 2_000

/**
 * A node-redis client that never queues commands while disconnected (they fail at once and the
 * caller counts them) and reconnects in the background with capped exponential backoff. Logs
 * one warning per outage and one line when it is back. Not connected yet: connect it with
 * `connectInBackground` (@stockpulse/lifecycle), which also closes it safely in any state.
 */
export function createRedisClient(url: string, logger: Logger): RedisClient {
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 2_000,
      reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, MAX_RECONNECT_DELAY_MS),
    },
  })
  const where = redactUrl(url)
  let state: 'connecting' | 'up' | 'down' = 'connecting'
  client.on('ready', () => {
    if (state === 'down') logger.info({ redis: where }, 'redis is back')
    else logger.debug({ redis: where }, 'redis connected')
    state = 'up'
  })
  client.on('error', (error: Error) => {
    if (state === 'down') return
    state = 'down'
    logger.warn(
      { redis: where, err: error.message },
      'redis unreachable: computing goes on, events are dropped, reconnecting in the background',
    )
  })
  return client
}

/**
 * An EventBus over Redis Pub/Sub: publish on `client`, subscribe on a duplicate connection.
 * `publish` returns node-redis's promise, so a publisher can count what Redis refused. Channels
 * whose SUBSCRIBE was lost to an outage are subscribed again on every reconnection.
 */
export function createRedisBus(client: RedisClient): EventBus & { close(): Promise<void> } {
  const subscriber = client.duplicate()
  const listeners = new Map<string, Set<BusListener>>()
  const dispatch = (message: string, channel: string) => {
    for (const listener of listeners.get(channel) ?? []) listener(message, channel)
  }
  const subscribeAll = () => {
    for (const channel of listeners.keys()) subscriber.subscribe(channel, dispatch).catch(() => {})
  }
  subscriber.on('ready', subscribeAll)
  subscriber.on('error', () => {})
  let connection: ManagedConnection | undefined

  return {
    publish: (channel, message) => client.publish(channel, message),
    subscribe(channel, listener) {
      const set = listeners.get(channel) ?? new Set()
      set.add(listener)
      listeners.set(channel, set)
      if (!connection) connection = connectInBackground(subscriber)
      else if (subscriber.isReady) subscriber.subscribe(channel, dispatch).catch(() => {})
    },
    unsubscribe(channel, listener) {
      const set = listeners.get(channel)
      set?.delete(listener)
      if (set?.size !== 0) return
      listeners.delete(channel)
      if (subscriber.isReady) subscriber.unsubscribe(channel, dispatch).catch(() => {})
    },
    async close() {
      await connection?.close()
    },
  }
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  const parsed = new URL(url)
  if (parsed.password) parsed.password = '***'
  return parsed.toString()
}

/**
 * A bounded start-up grace: resolves true once the client is ready, false at its first
 * connection error, after `timeoutMs`, or when `signal` aborts, so a job starts at once when
 * Redis is down and a stop is never held up by the wait.
 */
export function waitForRedis(
  client: RedisClient,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  if (client.isReady) return Promise.resolve(true)
  if (signal?.aborted) return Promise.resolve(false)
  return new Promise((resolve) => {
    const settle = (ready: boolean) => {
      clearTimeout(timer)
      client.off('ready', onReady)
      client.off('error', onError)
      signal?.removeEventListener('abort', onError)
      resolve(ready)
    }
    const onReady = () => settle(true)
    const onError = () => settle(false)
    const timer = setTimeout(onError, timeoutMs)
    client.on('ready', onReady)
    client.on('error', onError)
    signal?.addEventListener('abort', onError, { once: true })
  })
}

/**
 * A node-redis client for BullMQ: unlike the worker's own, it queues commands while reconnecting
 * (BullMQ's blocking reads and job moves expect to wait out an outage, not fail at once).
 */
export function createQueueClient(url: string): RedisClient {
  const client = createClient({
    url,
    socket: {
      connectTimeout: 2_000,
      reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, MAX_RECONNECT_DELAY_MS),
    },
  })
  client.on('error', () => {})
  return client
}
