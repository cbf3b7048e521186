import {
  type ChannelResult,
  CloseCode,
  ErrorCode,
  type ParsedChannel,
  type ParseError,
  parseChannel,
  parseClientFrame,
  type ServerFrame,
} from '@stockpulse/events'
import type { RawData } from 'ws'
import { WebSocket } from 'ws'
import { checkAccess } from './auth.js'
import { type Connection, shut } from './connection.js'
import type { Fanout } from './fanout.js'
import type { Logger } from './logger.js'
import type { Join, Resume } from './resume.js'
import type { Subscriptions } from './subscriptions.js'

/** Invalid frames a connection may send before it is closed with PROTOCOL_VIOLATION. */
export const MAX_INVALID_FRAMES = 10

export interface ClientFramesOptions {
  readonly subscriptions: Subscriptions
  readonly fanout: Fanout
  readonly resume: Resume
  readonly maxSubscriptions: number
  /** SUBSCRIBE_RATE: subscribe/unsubscribe frames per second, sustained. */
  readonly subscribeRate: number
  /** SUBSCRIBE_BURST: frames a connection may send at once before the rate applies. */
  readonly subscribeBurst: number
  /** MAX_QUEUED_SUBSCRIBES: frames waiting behind the one in progress. */
  readonly maxQueuedSubscribes: number
  readonly logger: Logger
}

/**
 * The client side of the protocol: heartbeat, subscribe and unsubscribe frames, and abuse. A
 * connection's subscribes and unsubscribes run one after the other, each acked when done (so
 * one resume per connection at a time); sending them faster than the rate, or more than the
 * queue holds, closes it with RATE_LIMITED. What is queued dies with the connection.
 */
export interface ClientFrames {
  handle(connection: Connection, data: RawData, isBinary: boolean): void
  /**
   * Joins channels, each with its own result (refused ones do not stop the others), and acks
   * them with one `subscribed` frame after their replays or snapshots.
   */
  subscribe(
    connection: Connection,
    channels: readonly string[],
    since?: Readonly<Record<string, string>>,
    id?: string | number,
  ): void
}

export function createClientFrames(options: ClientFramesOptions): ClientFrames {
  const {
    subscriptions,
    fanout,
    resume,
    maxSubscriptions,
    subscribeRate,
    subscribeBurst,
    maxQueuedSubscribes,
    logger,
  } = options
  const frames: ClientFrames = {
    handle(connection, data, isBinary) {
      connection.lastFrameAt = Date.now()
      if (isBinary) {
        return refuse(connection, {
          code: ErrorCode.INVALID_FRAME,
          message: 'binary frames are not accepted',
        })
      }
      const parsed = parseClientFrame(data.toString())
      if (!parsed.ok) return refuse(connection, parsed.error)
      const frame = parsed.value
      switch (frame.type) {
        case 'heartbeat':
          return send(connection, { type: 'heartbeat_ack', timestamp: new Date().toISOString() })
        case 'subscribe':
          return frames.subscribe(connection, frame.channels, frame.since, frame.id)
        case 'unsubscribe':
          return enqueue(connection, async () => {
            if (connection.readyState !== WebSocket.OPEN) return
            send(connection, {
              type: 'unsubscribed',
              ...(frame.id === undefined ? {} : { id: frame.id }),
              results: frame.channels.map((channel) => unsubscribe(connection, channel)),
            })
          })
      }
    },
    subscribe(connection, channels, since, id) {
      enqueue(connection, async () => {
        if (connection.readyState !== WebSocket.OPEN) return
        const results: ChannelResult[] = []
        const joins: Join[] = []
        /** Where each join's result goes in `results`. */
        const slots: number[] = []
        const joining = new Set<string>()
        for (const name of channels) {
          const parsed = parseChannel(name)
          const position = since && Object.hasOwn(since, name) ? since[name] : undefined
          const refusal = parsed.ok ? denied(connection, parsed.channel, joining) : undefined
          if (!parsed.ok) {
            results.push({
              channel: name,
              ok: false,
              code: ErrorCode.INVALID_CHANNEL,
              message: parsed.reason,
            })
          } else if (refusal) {
            results.push(refusal)
          } else if (
            joining.has(name) ||
            (connection.channels.has(name) && position === undefined)
          ) {
            // Already there: a plain resubscribe changes nothing.
            results.push({ channel: name, ok: true })
          } else {
            joining.add(name)
            slots.push(results.length)
            results.push({ channel: name, ok: true })
            joins.push({ channel: parsed.channel, since: position })
          }
        }
        const joined = await resume.join(connection, joins)
        for (const [i, result] of joined.results.entries()) results[slots[i]!] = result
        send(connection, {
          type: 'subscribed',
          ...(id === undefined ? {} : { id }),
          results,
        })
        joined.live()
      })
    },
  }
  return frames

  /** Why `connection` may not join `channel` now, or undefined. */
  function denied(
    connection: Connection,
    channel: ParsedChannel,
    joining: ReadonlySet<string>,
  ): ChannelResult | undefined {
    const forbidden = checkAccess(connection.principal, channel)
    if (forbidden) return { channel: channel.name, ok: false, ...forbidden }
    const known = connection.channels.has(channel.name) || joining.has(channel.name)
    if (!known && connection.channels.size + joining.size >= maxSubscriptions) {
      return {
        channel: channel.name,
        ok: false,
        code: ErrorCode.TOO_MANY_SUBSCRIPTIONS,
        message: `at most ${maxSubscriptions} channels per connection`,
      }
    }
    return undefined
  }

  /** Runs `task` after the connection's earlier subscribes and unsubscribes, within the limits. */
  function enqueue(connection: Connection, task: () => Promise<void>): void {
    if (connection.readyState !== WebSocket.OPEN) return
    const refusal = !takeToken(connection)
      ? 'subscribe frames too fast'
      : connection.work.length > maxQueuedSubscribes
        ? 'too many subscribe frames waiting'
        : undefined
    if (refusal) {
      limit(connection, refusal)
      return
    }
    connection.work.push(task)
    if (connection.work.length === 1) void work(connection)
  }

  /** Runs the connection's queue to its end; the gateway empties it when the connection closes. */
  async function work(connection: Connection): Promise<void> {
    while (connection.work.length > 0) {
      try {
        await connection.work[0]!()
      } catch (error) {
        logger.error(
          { connection: connection.id, error: (error as Error).message },
          'subscription failed',
        )
      }
      connection.work.shift()
    }
  }

  /** A token bucket: `subscribeBurst` frames at once, refilled at `subscribeRate` per second. */
  function takeToken(connection: Connection): boolean {
    const now = Date.now()
    connection.subscribeTokens =
      connection.tokensAt === 0
        ? subscribeBurst
        : Math.min(
            subscribeBurst,
            connection.subscribeTokens + ((now - connection.tokensAt) * subscribeRate) / 1000,
          )
    connection.tokensAt = now
    if (connection.subscribeTokens < 1) return false
    connection.subscribeTokens -= 1
    return true
  }

  function limit(connection: Connection, reason: string): void {
    logger.info({ connection: connection.id, reason }, 'connection rate limited')
    connection.work.length = 0
    shut(connection, CloseCode.RATE_LIMITED, reason)
  }

  function unsubscribe(connection: Connection, name: string): ChannelResult {
    const parsed = parseChannel(name)
    if (!parsed.ok) {
      return { channel: name, ok: false, code: ErrorCode.INVALID_CHANNEL, message: parsed.reason }
    }
    if (subscriptions.remove(connection, name)) fanout.forget(connection, name)
    return { channel: name, ok: true }
  }

  function refuse(connection: Connection, error: ParseError): void {
    connection.invalidFrames++
    send(connection, { type: 'error', code: error.code, message: error.message })
    if (connection.invalidFrames >= MAX_INVALID_FRAMES) {
      shut(connection, CloseCode.PROTOCOL_VIOLATION, 'too many invalid frames')
    }
  }
}

/** Sends one control frame to one connection. */
export function send(connection: Connection, frame: ServerFrame): void {
  if (connection.readyState === WebSocket.OPEN) connection.send(JSON.stringify(frame))
}
