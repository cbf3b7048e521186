import type { Channel, EventFor, EventType, StockPulseEvent } from '@stockpulse/events'
import type { Logger } from 'pino'

/**
 * Where a bus-bound event goes, one channel at a time. An `EventBus` fits (publish returns
 * nothing, never fails), and so does a node-redis client (publish returns a promise that rejects
 * while Redis is unreachable).
 */
export interface PublishTarget {
  publish(channel: string, message: string): unknown
}

/** Takes one encoded event for all its channels at once (a plain bus, or the history script). */
export interface EventSink {
  /** A promise when the reply comes later; a rejection or a throw drops the event. */
  send(event: StockPulseEvent, message: string, channels: readonly Channel[]): unknown
}

/** The channels that may carry an event of type T (the contract's channel map, read backwards). */
export type ChannelFor<T extends EventType> = Channel extends infer C
  ? C extends Channel
    ? T extends EventFor<C>['event_type']
      ? C
      : never
    : never
  : never

export interface PublisherOptions {
  /** Most events awaiting their reply at once; the job waits for room beyond that. */
  readonly window?: number
  readonly logger?: Logger
  /** Told of each event handed to the sink (`published`) and of each one lost (`dropped`). */
  readonly onEvent?: (outcome: 'published' | 'dropped') => void
}

export interface PublisherStats {
  /** Events published, each counted once whatever the number of its channels. */
  readonly events: number
  /** Channel messages handed to the sink. */
  readonly messages: number
  /** Events with at least one channel message that did not get through. */
  readonly eventsDropped: number
}

/** Typed, pipelined, never-blocking event publishing. */
export interface Publisher {
  /** Encodes `event` once and hands it to the sink for every one of `channels`. */
  publish<E extends StockPulseEvent>(
    event: E,
    channels: readonly ChannelFor<E['event_type']>[],
  ): void
  /** False while `window` events await their reply. */
  readonly writable: boolean
  /** Resolves once the window has room. */
  room(): Promise<void>
  /** Resolves once every publish so far is answered (delivered or dropped). */
  flush(): Promise<void>
  stats(): PublisherStats
}

const defaults = { window: 256 }

/**
 * A sink publishing an event's message on each of its channels, one PUBLISH each (no history).
 * Like the history script, it numbers the events (`seq`, counted by this sink alone, from 1) and
 * names the channel of each copy, so that clients can drop the copies exactly.
 */
export function busSink(target: PublishTarget): EventSink {
  let seq = 0
  return {
    send(_event, message, channels) {
      const head = `${message.slice(0, -1)},"seq":${++seq},"channel":"`
      const replies = channels.map((channel) => target.publish(channel, `${head}${channel}"}`))
      return replies.some((reply) => reply instanceof Promise) ? Promise.all(replies) : undefined
    },
  }
}

/**
 * Publishes without awaiting each reply: node-redis pipelines what is sent in one tick, and a
 * bounded window keeps memory flat. A failed send drops its event and counts it; the first
 * failure of an outage and the first success after it log one info line each (the warning is
 * the Redis client's, once per outage).
 */
export function createPublisher(sink: EventSink, options: PublisherOptions = {}): Publisher {
  const { window, logger, onEvent } = { ...defaults, ...options }
  let eventsDropped = 0
  let events = 0
  let messages = 0
  let inflight = 0
  let outage = false
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
  const failed = (error: unknown) => {
    eventsDropped++
    onEvent?.('dropped')
    if (!outage) {
      outage = true
      logger?.info({ err: error }, 'publishing paused: events are dropped until the bus is back')
    }
  }

  return {
    publish(event, channels) {
      events++
      messages += channels.length
      onEvent?.('published')
      let result: unknown
      try {
        result = sink.send(event, JSON.stringify(event), channels)
      } catch (error) {
        failed(error)
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
          failed(error)
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
