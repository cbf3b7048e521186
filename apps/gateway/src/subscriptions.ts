import type { ChannelKind, ParsedChannel } from '@stockpulse/events'
import { WebSocket } from 'ws'
import type { Bridge } from './bridge.js'
import type { Connection } from './connection.js'
import type { OutboundEvent } from './fanout.js'
import { FAMILIES } from './metrics.js'

/** The connections on one channel. */
export interface ChannelMembers {
  readonly kind: ChannelKind
  /** The channel as parsed: what its events' ids must match. */
  readonly channel: ParsedChannel
  /** Connections the channel's events are delivered to. */
  readonly members: ReadonlySet<Connection>
  /** Connections catching up (replay or snapshot): their live events wait in these buffers. */
  readonly held: ReadonlyMap<Connection, OutboundEvent[]>
}

/**
 * Which connection is on which channel. The bridge subscribes a channel when its first member
 * joins and unsubscribes it when its last member leaves. Only open connections get on a channel:
 * a join that finishes after its connection closed leaves nothing behind.
 */
export interface Subscriptions {
  /** Adds `connection` to `channel`; `false` when it was already there or is not open. */
  add(connection: Connection, channel: ParsedChannel): boolean
  /**
   * Puts `connection` on `channel` (or keeps it there) with its live events buffered instead of
   * delivered, from now until `release`; `false` (and nothing changed) when it is not open.
   */
  hold(connection: Connection, channel: ParsedChannel): boolean
  /**
   * Ends `hold`: the events buffered meanwhile; undefined when the connection left the channel
   * or is no longer open.
   */
  release(connection: Connection, channel: string): OutboundEvent[] | undefined
  remove(connection: Connection, channel: string): boolean
  /** Takes `connection` off every channel, held buffers included. */
  removeAll(connection: Connection): void
  lookup(channel: string): ChannelMembers | undefined
  /** channel -> members */
  byChannel(): Record<string, number>
  byFamily(): Record<ChannelKind, number>
  /** Live events held in all buffers. */
  heldEvents(): number
}

export function createSubscriptions(bridge: Bridge): Subscriptions {
  const channels = new Map<string, Entry>()
  const subscriptions: Subscriptions = {
    add(connection, channel) {
      if (!isOpen(connection) || connection.channels.has(channel.name)) return false
      join(connection, channel).members.add(connection)
      return true
    },
    hold(connection, channel) {
      if (!isOpen(connection)) return false
      const entry = join(connection, channel)
      entry.members.delete(connection)
      connection.heldEvents -= entry.held.get(connection)?.length ?? 0
      entry.held.set(connection, [])
      return true
    },
    release(connection, name) {
      const entry = channels.get(name)
      const buffered = entry?.held.get(connection)
      if (!entry || !buffered || !isOpen(connection)) return undefined
      entry.held.delete(connection)
      connection.heldEvents -= buffered.length
      entry.members.add(connection)
      return buffered
    },
    remove(connection, name) {
      if (!connection.channels.delete(name)) return false
      const entry = channels.get(name)
      if (!entry) return true
      entry.members.delete(connection)
      connection.heldEvents -= entry.held.get(connection)?.length ?? 0
      entry.held.delete(connection)
      if (entry.members.size === 0 && entry.held.size === 0) {
        channels.delete(name)
        bridge.unsubscribe(name)
      }
      return true
    },
    removeAll(connection) {
      for (const name of [...connection.channels]) subscriptions.remove(connection, name)
    },
    lookup: (name) => channels.get(name),
    byChannel() {
      return Object.fromEntries([...channels].map(([name, entry]) => [name, size(entry)]))
    },
    byFamily() {
      const counts = Object.fromEntries(FAMILIES.map((family) => [family, 0])) as Record<
        ChannelKind,
        number
      >
      for (const entry of channels.values()) counts[entry.kind] += size(entry)
      return counts
    },
    heldEvents() {
      let count = 0
      for (const entry of channels.values()) {
        for (const buffer of entry.held.values()) count += buffer.length
      }
      return count
    },
  }
  return subscriptions

  /** The channel's entry, created (and subscribed on the bridge) for its first connection. */
  function join(connection: Connection, channel: ParsedChannel): Entry {
    let entry = channels.get(channel.name)
    if (!entry) {
      entry = { kind: channel.kind, channel, members: new Set(), held: new Map() }
      channels.set(channel.name, entry)
      bridge.subscribe(channel.name)
    }
    connection.channels.add(channel.name)
    return entry
  }
}

interface Entry {
  readonly kind: ChannelKind
  readonly channel: ParsedChannel
  readonly members: Set<Connection>
  readonly held: Map<Connection, OutboundEvent[]>
}

function isOpen(connection: Connection): boolean {
  return connection.readyState === WebSocket.OPEN
}

function size(entry: Entry): number {
  return entry.members.size + entry.held.size
}
