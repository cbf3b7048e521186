import { randomUUID } from 'node:crypto'
import { DEFAULT_KEY_PREFIX, historyKeys } from '@stockpulse/events'
import { connectInBackground, type ManagedConnection } from '@stockpulse/lifecycle'
import { createClient } from 'redis'
import type { Bridge, BridgeListener, BridgeState } from './bridge.js'
import { createRedisHistory, DEFAULT_REPLAY_LIMIT, type RedisClient } from './history.js'
import type { Logger } from './logger.js'

export interface RedisBridgeOptions {
  readonly logger: Logger
  /** Longest wait between two reconnection attempts. */
  readonly maxReconnectDelayMs?: number
  /** KEY_PREFIX: where the worker writes its history. */
  readonly keyPrefix?: string
  /** HISTORY_REPLAY_LIMIT: most events replayed per channel per subscribe. */
  readonly replayLimit?: number
  /** Longest `subscribed(channel, { waitForStart: true })` waits for the first `ready`. */
  readonly readyWaitMs?: number
}

const defaults = {
  maxReconnectDelayMs: 2_000,
  keyPrefix: DEFAULT_KEY_PREFIX,
  replayLimit: DEFAULT_REPLAY_LIMIT,
  // A gateway starting next to a running Redis is ready well within it, and the clients resuming
  // meanwhile (browsers reconnecting after a deploy) still get their replay.
  readyWaitMs: 5_000,
}

/** Longest a history read waits for the subscriber to catch up before it goes on anyway. */
const BARRIER_TIMEOUT_MS = 2_000

/**
 * A bridge over one Redis subscriber connection (node-redis), plus an ordinary connection that
 * reads the history (a subscriber cannot run commands). Both connect at once and keep trying
 * while Redis is away; after each reconnect the subscriber subscribes every wanted channel again,
 * and the bridge reports `ready` once that is done and the reader is connected. History reads
 * fail at once while the reader is away. Nothing the listener does can throw into node-redis,
 * and a subscriber error that node-redis does not reconnect from gets a new connection.
 */
export function createRedisBridge(url: string, options: RedisBridgeOptions): Bridge {
  const { logger, maxReconnectDelayMs, keyPrefix, replayLimit, readyWaitMs } = {
    ...defaults,
    ...options,
  }
  let listener: BridgeListener | undefined
  let state: BridgeState = 'connecting'
  /** `subscribed()` calls waiting for the first `ready` (or the close). */
  const readyWaits = new Set<() => void>()
  /** Channels the gateway wants; `confirmed` are those Redis acknowledged. */
  const wanted = new Set<string>()
  const confirmed = new Set<string>()
  const inFlight = new Map<string, Promise<void>>()
  // A private channel this gateway publishes markers on: when its own marker comes back on the
  // subscriber, every message Redis published before it has been handled (one socket, in order).
  const barrierChannel = `${keyPrefix}gateway:barrier:${randomUUID()}`
  const barriers = new Map<string, () => void>()
  let markers = 0
  // node-redis calls this inside its reply decoder: a throw would reset the decoder mid-stream.
  const onMessage = (message: string, channel: string) => {
    try {
      if (channel !== barrierChannel) listener?.message(channel, message)
      else barriers.get(message)?.()
    } catch (error) {
      logger.error({ channel, error: (error as Error).message }, 'a redis message handler threw')
    }
  }

  const socket = {
    connectTimeout: 5_000,
    reconnectStrategy: (retries: number) =>
      Math.min(50 * 2 ** retries, maxReconnectDelayMs) + Math.floor(Math.random() * 50),
  }
  let client: RedisClient
  let clientConnection: ManagedConnection
  connectSubscriber()
  const reader = createClient({ url, socket, disableOfflineQueue: true })
  /** The subscriber is connected with every wanted channel subscribed again. */
  let resubscribed = false
  // `ready` waits for the reader too, so that the first joins after it can read the history.
  const becomeReady = () => {
    if (resubscribed && client.isReady && reader.isReady && state !== 'closed') setState('ready')
  }
  reader.on('ready', becomeReady)
  reader.on('error', (error: Error) => {
    logger.debug({ error: error.message }, 'redis history reader unavailable')
  })
  const readerConnection = connectInBackground(reader)
  wanted.add(barrierChannel)
  const history = createRedisHistory(reader, {
    keys: historyKeys(keyPrefix),
    replayLimit,
    caughtUp: () => caughtUp(),
  })

  return {
    kind: 'redis',
    get state() {
      return state
    },
    history,
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
    async subscribed(channel, options = {}) {
      if (!(await (options.waitForStart ? started() : state === 'ready'))) return false
      await sync(channel)
      return state === 'ready' && wanted.has(channel) && confirmed.has(channel)
    },
    async close() {
      if (state === 'closed') return
      setState('closed')
      await Promise.all([clientConnection.close(), readerConnection.close()])
    },
  }

  /** A subscriber connection that resubscribes every wanted channel whenever it is ready. */
  function connectSubscriber(): void {
    const subscriber = createClient({ url, socket })
    client = subscriber
    subscriber.on('ready', () => {
      if (subscriber !== client) return
      void Promise.all([...new Set([...wanted, ...confirmed])].map(sync)).then(() => {
        if (state === 'closed' || subscriber !== client || !subscriber.isReady) return
        const missing = [...wanted].filter((channel) => !confirmed.has(channel))
        if (missing.length > 0) logger.error({ channels: missing }, 'redis refused to subscribe')
        resubscribed = true
        becomeReady()
      })
    })
    subscriber.on('error', (error: Error) => {
      if (subscriber !== client) return
      if (state === 'ready') logger.warn({ error: error.message }, 'redis subscriber lost')
      else logger.debug({ error: error.message }, 'redis subscriber still unavailable')
      resubscribed = false
      if (state === 'ready') setState('down')
      // node-redis reconnects after a socket error by itself. An error while the socket still
      // counts as ready came from reading a reply: node-redis reset its decoder mid-stream and
      // stays connected, so messages may be lost and no `ready` would come. Start over.
      if (subscriber.isReady && state !== 'closed') replaceSubscriber()
    })
    subscriber.on('reconnecting', () => {
      if (subscriber !== client) return
      resubscribed = false
      if (state === 'ready') setState('down')
    })
    clientConnection = connectInBackground(subscriber)
  }

  /** Drops the subscriber connection for a new one, which subscribes everything wanted again. */
  function replaceSubscriber(): void {
    const old = client
    confirmed.clear()
    inFlight.clear()
    connectSubscriber()
    old.destroy()
  }

  /** Resolves once the subscriber has handled what Redis published before this call (or 2 s). */
  function caughtUp(): Promise<void> {
    const marker = String(markers++)
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        barriers.delete(marker)
        resolve()
      }
      const timer = setTimeout(done, BARRIER_TIMEOUT_MS)
      barriers.set(marker, done)
      reader.publish(barrierChannel, marker).catch(done)
    })
  }

  function setState(next: BridgeState): void {
    if (next === state) return
    state = next
    logger.info({ state }, 'redis bridge state')
    // Waiters first: a throwing listener must not hold them for the whole wait.
    for (const wake of readyWaits) wake()
    listener?.state(state)
  }

  /**
   * Whether the bridge is ready; while it is still connecting for the first time (start-up),
   * waits up to `readyWaitMs` for that. Once it has been ready, an outage is answered at once:
   * clients joining then would only queue behind the wait.
   */
  function started(): Promise<boolean> {
    if (state !== 'connecting') return Promise.resolve(state === 'ready')
    return new Promise<boolean>((resolve) => {
      const wake = () => {
        clearTimeout(timer)
        readyWaits.delete(wake)
        resolve(state === 'ready')
      }
      const timer = setTimeout(wake, readyWaitMs)
      timer.unref()
      readyWaits.add(wake)
    })
  }

  /** Brings one channel's Redis subscription in line with `wanted`, one command at a time. */
  function sync(channel: string): Promise<void> {
    const running = inFlight.get(channel)
    if (running) return running
    const want = wanted.has(channel)
    if (state === 'closed' || want === confirmed.has(channel)) return Promise.resolve()
    const via = client
    const command = want ? via.subscribe(channel, onMessage) : via.unsubscribe(channel, onMessage)
    const done: Promise<void> = command.then(
      () => {
        // A replaced subscriber's answers say nothing about the new one.
        if (via !== client) return
        inFlight.delete(channel)
        if (want) confirmed.add(channel)
        else confirmed.delete(channel)
        // The gateway may have changed its mind while the command ran.
        if (client.isReady) return sync(channel)
      },
      (error: Error) => {
        // Retried by the next `ready`.
        if (inFlight.get(channel) === done) inFlight.delete(channel)
        logger.debug({ channel, error: error.message }, 'redis (un)subscribe failed')
      },
    )
    inFlight.set(channel, done)
    return done
  }
}
