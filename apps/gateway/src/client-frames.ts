import {
  type ChannelResult,
  CloseCode,
  ErrorCode,
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
import type { Subscriptions } from './subscriptions.js'

/** Invalid frames a connection may send before it is closed with PROTOCOL_VIOLATION. */
export const MAX_INVALID_FRAMES = 10

export interface ClientFramesOptions {
  readonly subscriptions: Subscriptions
  readonly fanout: Fanout
  readonly maxSubscriptions: number
}

/** The client side of the protocol: heartbeat, subscribe and unsubscribe frames, and abuse. */
export interface ClientFrames {
  handle(connection: Connection, data: RawData, isBinary: boolean): void
  /** Joins channels, each with its own result: refused ones do not stop the others. */
  subscribe(connection: Connection, channels: readonly string[], since?: object): ChannelResult[]
}

export function createClientFrames(options: ClientFramesOptions): ClientFrames {
  const { subscriptions, fanout, maxSubscriptions } = options
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
          return send(connection, {
            type: 'subscribed',
            ...(frame.id === undefined ? {} : { id: frame.id }),
            results: frames.subscribe(connection, frame.channels, frame.since),
          })
        case 'unsubscribe':
          return send(connection, {
            type: 'unsubscribed',
            ...(frame.id === undefined ? {} : { id: frame.id }),
            results: frame.channels.map((channel) => unsubscribe(connection, channel)),
          })
      }
    },
    subscribe(connection, channels, since) {
      return channels.map((name): ChannelResult => {
        const parsed = parseChannel(name)
        if (!parsed.ok) {
          return {
            channel: name,
            ok: false,
            code: ErrorCode.INVALID_CHANNEL,
            message: parsed.reason,
          }
        }
        const denied = checkAccess(connection.principal, parsed.channel)
        if (denied) return { channel: name, ok: false, ...denied }
        if (!connection.channels.has(name) && connection.channels.size >= maxSubscriptions) {
          return {
            channel: name,
            ok: false,
            code: ErrorCode.TOO_MANY_SUBSCRIPTIONS,
            message: `at most ${maxSubscriptions} channels per connection`,
          }
        }
        subscriptions.add(connection, parsed.channel)
        // Nothing is replayed: a client resuming from a position is told it was not recovered.
        return since && Object.hasOwn(since, name)
          ? { channel: name, ok: true, recovered: false }
          : { channel: name, ok: true }
      })
    },
  }
  return frames

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
