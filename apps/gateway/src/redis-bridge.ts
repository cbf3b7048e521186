import { createClient } from 'redis'
import type { Bridge, BridgeListener, BridgeState } from './bridge.js'
import type { Logger } from './logger.js'

export interface RedisBridgeOptions {
  readonly logger: Logger
  /** Longest wait between two reconnection attempts. */
  readonly maxReconnectDelayMs?: number
}

const defaults = { maxReconnectDelayMs: 2_000 }

/**
 * A bridge over one Redis subscriber connection (node-redis). It connects at once and keeps
 * trying while Redis is away; after each reconnect it subscribes every wanted channel again
 * before it reports `ready`.
 */
export function createRedisBridge(url: string, options: RedisBridgeOptions): Bridge {
  const { logger, maxReconnectDelayMs } = { ...defaults, ...options }
  let listener: BridgeListener | undefined
  let state: BridgeState = 'connecting'
  /** Channels the gateway wants; `confirmed` are those Redis acknowledged. */
  const wanted = new Set<string>()
  const confirmed = new Set<string>()
  const inFlight = new Map<string, Promise<void>>()
  const onMessage = (message: string, channel: string) => listener?.message(channel, message)

  const client = createClient({
    url,
    socket: {
      connectTimeout: 5_000,
      reconnectStrategy: (retries) =>
        Math.min(50 * 2 ** retries, maxReconnectDelayMs) + Math.floor(Math.random() * 50),
    },
  })
  client.on('ready', () => {
    void Promise.all([...new Set([...wanted, ...confirmed])].map(sync)).then(() => {
      if (state === 'closed' || !client.isReady) return
      const missing = [...wanted].filter((channel) => !confirmed.has(channel))
      if (missing.length > 0) logger.error({ channels: missing }, 'redis refused to subscribe')
      setState('ready')
    })
  })
  client.on('error', (error: Error) => {
    if (state === 'ready') logger.warn({ error: error.message }, 'redis subscriber lost')
    else logger.debug({ error: error.message }, 'redis subscriber still unavailable')
    if (state === 'ready') setState('down')
  })
  client.on('reconnecting', () => {
    if (state === 'ready') setState('down')
  })
  client.connect().catch((error: Error) => {
    if (state !== 'closed') logger.error({ error: error.message }, 'redis subscriber gave up')
  })

  return {
    kind: 'redis',
    get state() {
      return state
    },
    listen(next) {
      listener = next
    },
    subscribe(channel) {
      wanted.add(channel)
      void sync(channel)
    },
    unsubscribe(channel) {
      wanted.delete(channel)
      void sync(channel)
    },
    async close() {
      if (state === 'closed') return
      setState('closed')
      if (client.isReady) await client.close()
      else client.destroy()
    },
  }

  function setState(next: BridgeState): void {
    if (next === state) return
    state = next
    logger.info({ state }, 'redis bridge state')
    listener?.state(state)
  }

  /** Brings one channel's Redis subscription in line with `wanted`, one command at a time. */
  function sync(channel: string): Promise<void> {
    const running = inFlight.get(channel)
    if (running) return running
    const want = wanted.has(channel)
    if (state === 'closed' || want === confirmed.has(channel)) return Promise.resolve()
    const command = want
      ? client.subscribe(channel, onMessage)
      : client.unsubscribe(channel, onMessage)
    const done = command.then(
      () => {
        inFlight.delete(channel)
        if (want) confirmed.add(channel)
        else confirmed.delete(channel)
        // The gateway may have changed its mind while the command ran.
        if (client.isReady) return sync(channel)
      },
      (error: Error) => {
        // Retried by the next `ready`.
        inFlight.delete(channel)
        logger.debug({ channel, error: error.message }, 'redis (un)subscribe failed')
      },
    )
    inFlight.set(channel, done)
    return done
  }
}
