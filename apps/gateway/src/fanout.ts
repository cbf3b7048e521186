import {
  type ChannelKind,
  CloseCode,
  type EventType,
  isEventAllowedOn,
  isEventBoundTo,
  type ParsedChannel,
  parseEvent,
} from '@stockpulse/events'
import { WebSocket } from 'ws'
import { type Backpressure, createBackpressure } from './backpressure.js'
import { type Connection, shut } from './connection.js'
import { batchText, cork, textFrame, uncork, writeFrame } from './frames.js'
import type { Logger } from './logger.js'
import type { DropReason, Metrics } from './metrics.js'
import type { ChannelMembers, Subscriptions } from './subscriptions.js'

/** One validated event from the bridge, encoded and framed once for all its recipients. */
export interface OutboundEvent {
  readonly channel: string
  readonly family: ChannelKind
  readonly eventType: EventType
  /** `task_id` of task events ('' for the others): what progress is conflated by. */
  readonly taskId: string
  /** Exactly the text the producer published. */
  readonly text: string
  readonly frame: readonly Buffer[]
  /** Bytes on the wire. */
  readonly size: number
  /** The event's `timestamp`, in ms since the epoch. */
  readonly timestamp: number
  /** Its `position` in `channel`, when the worker's history gave it one. */
  readonly position: string | undefined
  /** Its `seq`: the order of publication across channels, when the producer numbered it. */
  readonly seq: number | undefined
  /** Order of arrival at this gateway, across channels. */
  readonly arrival: number
}

/** Where a message comes from: Pub/Sub, or the history (a replay or a snapshot). */
export type Origin = 'live' | 'history'

export interface FanoutOptions {
  readonly subscriptions: Subscriptions
  readonly metrics: Metrics
  readonly logger: Logger
  readonly maxClientBufferBytes: number
  /** MAX_EVENT_BYTES: larger events are dropped (`too_large`). */
  readonly maxEventBytes: number
  /** MAX_HELD_EVENTS: a connection holding more while it catches up is closed with SLOW_CLIENT. */
  readonly maxHeldEvents: number
}

export interface Fanout {
  /**
   * Validates a message from the bridge and queues it for the channel's subscribers; held
   * subscribers get it in their buffer instead.
   */
  publish(channel: string, text: string): void
  /**
   * Validates and frames one message; undefined (logged and counted) when it breaks the contract,
   * is too large, or names another channel's id.
   */
  prepare(channel: ParsedChannel, text: string, origin: Origin): OutboundEvent | undefined
  /** Writes events to one connection now, framed as its live events are (batch or not). */
  write(connection: Connection, events: readonly OutboundEvent[]): void
  /** Queues events for one connection, to be written with this tick's live events. */
  deliver(connection: Connection, events: readonly OutboundEvent[]): void
  /** Drops what is queued for `connection` from `channel` (it just unsubscribed). */
  forget(connection: Connection, channel: string): void
  /** Connections over the buffer cap holding progress back. */
  readonly congested: number
  stop(): void
}

/** How many distinct batch frames one tick keeps for reuse by connections with the same events. */
const BATCH_CACHE_SIZE = 8

/**
 * Routes events to subscribers. Everything queued during one event-loop tick is written at the
 * end of it: per socket corked into one system call, or for `?batch=1` clients one `batch` frame,
 * built once for all connections that receive the same events.
 */
export function createFanout(options: FanoutOptions): Fanout {
  const { subscriptions, metrics, logger, maxClientBufferBytes, maxEventBytes, maxHeldEvents } =
    options
  // A text this short is within the cap in UTF-8 too (at most 3 bytes per UTF-16 unit).
  const surelySmall = Math.floor(maxEventBytes / 3)
  const { stats } = metrics
  let dirty: Connection[] = []
  let tick: OutboundEvent[] = []
  let scheduled = false
  let arrival = 0
  const batches: Array<{ events: readonly OutboundEvent[]; frame: readonly Buffer[] }> = []
  const backpressure: Backpressure = createBackpressure({
    capBytes: maxClientBufferBytes,
    stats,
    write,
  })

  const fanout: Fanout = {
    publish(channel, text) {
      const entry = subscriptions.lookup(channel)
      if (!entry) return
      stats.received[entry.kind]++
      const outbound = fanout.prepare(entry.channel, text, 'live')
      if (!outbound) return
      tick.push(outbound)
      for (const connection of entry.members) {
        if (connection.queue.length === 0) dirty.push(connection)
        connection.queue.push(outbound)
      }
      if (entry.held.size > 0) hold(entry, outbound)
      schedule()
    },
    prepare(channel, text, origin) {
      const name = channel.name
      if (text.length > surelySmall && Buffer.byteLength(text) > maxEventBytes) {
        return drop(origin, 'too_large', { channel: name, origin, bytes: Buffer.byteLength(text) })
      }
      const result = parseEvent(text)
      if (!result.ok) {
        return drop(origin, 'invalid_event', { channel: name, origin, error: result.error.message })
      }
      const event = result.value
      // A copy naming another channel (`channel`, since 1.2) is on the wrong channel too.
      if (!isEventAllowedOn(channel.kind, event.event_type) || (event.channel ?? name) !== name) {
        return drop(origin, 'wrong_channel', {
          channel: name,
          origin,
          event_type: event.event_type,
        })
      }
      if (!isEventBoundTo(channel, event)) {
        return drop(origin, 'wrong_id', { channel: name, origin, event_type: event.event_type })
      }
      const frame = textFrame(text)
      return {
        channel: name,
        family: channel.kind,
        eventType: event.event_type,
        taskId: 'task_id' in event ? (event.task_id ?? '') : '',
        text,
        frame,
        size: frame[0]?.length ?? 0,
        timestamp: Date.parse(event.timestamp),
        position: event.position,
        seq: event.seq,
        arrival: arrival++,
      }
    },
    write,
    deliver(connection, events) {
      if (events.length === 0) return
      if (connection.queue.length === 0) dirty.push(connection)
      for (const event of events) connection.queue.push(event)
      schedule()
    },
    forget(connection, channel) {
      const kept = connection.queue.filter((event) => event.channel !== channel)
      connection.queue.length = 0
      connection.queue.push(...kept)
    },
    get congested() {
      return backpressure.congested
    },
    stop() {
      backpressure.stop()
    },
  }
  return fanout

  /** Buffers a live event for the connections catching up; one holding too many is closed. */
  function hold(entry: ChannelMembers, event: OutboundEvent): void {
    for (const [connection, buffer] of entry.held) {
      if (connection.heldEvents < maxHeldEvents) {
        connection.heldEvents++
        buffer.push(event)
      } else if (connection.readyState === WebSocket.OPEN) {
        stats.dropped.slow_client += connection.heldEvents + 1
        stats.slowDisconnects++
        shut(connection, CloseCode.SLOW_CLIENT, 'client too slow')
      }
    }
  }

  /** Counts and logs a message that is not delivered; undefined, for `prepare` to return. */
  function drop(origin: Origin, reason: DropReason, details: object): undefined {
    stats.dropped[origin === 'live' ? reason : 'invalid_history']++
    logger.warn({ ...details, reason }, 'dropped an event')
    return undefined
  }

  function schedule(): void {
    if (scheduled) return
    scheduled = true
    setImmediate(flush)
  }

  function flush(): void {
    scheduled = false
    const connections = dirty
    const events = tick
    dirty = []
    tick = []
    for (const connection of connections) {
      if (connection.queue.length === 0) continue
      if (connection.readyState === WebSocket.OPEN) {
        write(connection, backpressure.admit(connection, connection.queue))
      }
      connection.queue.length = 0
    }
    batches.length = 0
    const now = Date.now()
    for (const event of events) metrics.observeLag(Math.max(0, now - event.timestamp) / 1000)
  }

  function write(connection: Connection, events: readonly OutboundEvent[]): void {
    if (events.length === 0) return
    if (connection.batch) {
      writeFrame(connection, batchFrame(events))
    } else if (events.length === 1) {
      writeFrame(connection, events[0]!.frame)
    } else {
      cork(connection)
      for (const event of events) writeFrame(connection, event.frame)
      uncork(connection)
    }
    for (const event of events) stats.sent[event.family]++
  }

  function batchFrame(events: readonly OutboundEvent[]): readonly Buffer[] {
    const cached = batches.find((batch) => sameEvents(batch.events, events))
    if (cached) return cached.frame
    const frame = textFrame(batchText(events.map((event) => event.text)))
    if (batches.length < BATCH_CACHE_SIZE) batches.push({ events: [...events], frame })
    return frame
  }
}

function sameEvents(a: readonly OutboundEvent[], b: readonly OutboundEvent[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
