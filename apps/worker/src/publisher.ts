import type { Channel, EventFor } from '@stockpulse/events'
import type { Logger } from 'pino'

/**
 * Where encoded events go. An `EventBus` fits (publish returns nothing, never fails), and so does
 * a node-redis client (publish returns a promise that rejects while Redis is unreachable).
 */
export interface PublishTarget {
  publish(channel: string, message: string): unknown
}

export interface PublisherOptions {
  /** Most publishes awaiting Redis's reply at once; the job waits for room beyond that. */
  readonly window?: number
  readonly logger?: Logger
}

export interface PublisherStats {
  /** Events published, each counted once whatever the number of its channels. */
  readonly events: number
  /** Channel messages handed to the target. */
  readonly messages: number
  /** Events with at least one channel message that did not reach the target. */
  readonly eventsDropped: number
}

/** Typed, pipelined, never-blocking event publishing. */
export interface Publisher {
  /** Publishes `event` on `channel`; the same event object on several channels is encoded once. */
  publish<C extends Channel>(channel: C, event: EventFor<C>): void
  /** False while `window` publishes await their reply. */
  readonly writable: boolean
  /** Resolves once the window has room. */
  room(): Promise<void>
  /** Resolves once every publish so far is answered (delivered or dropped). */
  flush(): Promise<void>
  stats(): PublisherStats
}

const defaults = { window: 256 }

/**
 * Publishes without awaiting each reply: node-redis pipelines what is sent in one tick, and a
 * bounded window keeps memory flat. A failed publish drops its event and counts it; the first
 * failure of an outage and the first success after it log one info line each (the warning is
 * the Redis client's, once per outage).
 */
export function createPublisher(target: PublishTarget, options: PublisherOptions = {}): Publisher {
  const { window, logger } = { ...defaults, ...options }
  const dropped = new WeakSet<object>()
  let eventsDropped = 0
  let events = 0
  let messages = 0
  let inflight = 0
  let outage = false
  let lastEvent: object | undefined
  let lastEncoded = ''
  let waiters: (() => void)[] = []

  const settle = () => {
    inflight--
    if (waiters.length > 0 && inflight < window) {
      const ready = waiters
      waiters = []
      for (const wake of ready) wake()
    }
  }
  const succeeded = () => {
    if (outage) {
      outage = false
      logger?.info({ events_dropped: eventsDropped }, 'publishing resumed')
    }
  }
  const failed = (event: object, error: unknown) => {
    if (!dropped.has(event)) {
      dropped.add(event)
      eventsDropped++
    }
    if (!outage) {
      outage = true
      logger?.info({ err: error }, 'publishing paused: events are dropped until the bus is back')
    }
  }

  return {
    publish(channel, event) {
      if (event !== lastEvent) {
        lastEncoded = JSON.stringify(event)
        lastEvent = event
        events++
      }
      messages++
      let result: unknown
      try {
        result = target.publish(channel, lastEncoded)
      } catch (error) {
        failed(event, error)
        return
      }
      if (!(result instanceof Promise)) return
      inflight++
      result.then(
        () => {
          succeeded()
          settle()
        },
        (error: unknown) => {
          failed(event, error)
          settle()
        },
      )
    },
    get writable() {
      return inflight < window
    },
    room() {
      return inflight < window ? Promise.resolve() : wait()
    },
    flush() {
      return inflight === 0 ? Promise.resolve() : wait().then(() => this.flush())
    },
    stats: () => ({ events, messages, eventsDropped }),
  }

  function wait(): Promise<void> {
    return new Promise((resolve) => waiters.push(resolve))
  }
}
