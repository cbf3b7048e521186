import type { ChannelKind, ParsedChannel } from '@stockpulse/events'
import type { Bridge } from './bridge.js'
import type { Connection } from './connection.js'
import { FAMILIES } from './metrics.js'

/** The connections on one channel. */
export interface ChannelMembers {
  readonly kind: ChannelKind
  readonly members: ReadonlySet<Connection>
}

/**
 * Which connection is on which channel. The bridge subscribes a channel when its first member
 * joins and unsubscribes it when its last member leaves.
 */
export interface Subscriptions {
  /** Adds `connection` to `channel`; `false` when it was already there. */
  add(connection: Connection, channel: ParsedChannel): boolean
  remove(connection: Connection, channel: string): boolean
  removeAll(connection: Connection): void
  lookup(channel: string): ChannelMembers | undefined
  /** channel -> members */
  byChannel(): Record<string, number>
  byFamily(): Record<ChannelKind, number>
}

export function createSubscriptions(bridge: Bridge): Subscriptions {
  const channels = new Map<string, { kind: ChannelKind; members: Set<Connection> }>()
  const subscriptions: Subscriptions = {
    add(connection, { name, kind }) {
      if (connection.channels.has(name)) return false
      let entry = channels.get(name)
      if (!entry) {
        entry = { kind, members: new Set() }
        channels.set(name, entry)
        bridge.subscribe(name)
      }
      entry.members.add(connection)
      connection.channels.add(name)
      return true
    },
    remove(connection, name) {
      if (!connection.channels.delete(name)) return false
      const entry = channels.get(name)
      entry?.members.delete(connection)
      if (entry?.members.size === 0) {
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
      return Object.fromEntries([...channels].map(([name, { members }]) => [name, members.size]))
    },
    byFamily() {
      const counts = Object.fromEntries(FAMILIES.map((family) => [family, 0])) as Record<
        ChannelKind,
        number
      >
      for (const { kind, members } of channels.values()) counts[kind] += members.size
      return counts
    },
  }
  return subscriptions
}
