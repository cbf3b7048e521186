import { setImmediate as yieldToLive } from 'node:timers/promises'
import {
  type ChannelResult,
  CloseCode,
  compareStreamIds,
  formatPosition,
  type ParsedChannel,
  parsePosition,
  SINCE_START,
} from '@stockpulse/events'
import { WebSocket } from 'ws'
import type { Bridge } from './bridge.js'
import { type Connection, shut } from './connection.js'
import type { Fanout, OutboundEvent } from './fanout.js'
import { drained } from './frames.js'
import { asDelivered, asSnapshot, type ChannelHistory } from './history.js'
import type { Logger } from './logger.js'
import type { GatewayStats } from './metrics.js'
import { staleTask } from './stale-tasks.js'
import type { Subscriptions } from './subscriptions.js'

/** One channel a connection joins, with the position it resumes from, as the client sent it. */
export interface Join {
  readonly channel: ParsedChannel
  readonly since: string | undefined
}

/** Channels caught up and ready to go live. */
export interface Joined {
  /** One ok entry per join, in order, for the `subscribed` ack. */
  readonly results: ChannelResult[]
  /** Delivers what arrived during the join (after what was read), then live events: call after the ack. */
  live(): void
}

export interface ResumeOptions {
  readonly bridge: Bridge
  readonly subscriptions: Subscriptions
  readonly fanout: Fanout
  readonly stats: GatewayStats
  readonly logger: Logger
  /** MAX_CLIENT_BUFFER_BYTES: a replay waits for the socket to drain past half of it. */
  readonly maxClientBufferBytes: number
  /** RESUME_DRAIN_TIMEOUT_S: a socket that does not drain within it is closed with SLOW_CLIENT. */
  readonly drainTimeoutMs: number
  /** STALE_TASK_S: a snapshot's task silent this long is followed by a `task_stale` notice. */
  readonly staleTaskMs: number
}

/** Joins channels with no event lost or repeated: replay from `since`, or a snapshot. */
export interface Resume {
  join(connection: Connection, joins: readonly Join[]): Promise<Joined>
  /** Resumes reading or replaying now (at most MAX_CONCURRENT_RESUMES). */
  readonly running: number
  /** Resumes waiting for one of those slots. */
  readonly waiting: number
}

/** Replayed events written per system call (or per `batch` frame); live traffic runs between. */
const REPLAY_CHUNK = 256
/**
 * Resumes (joins with a `since`) reading and replaying at once; more wait their turn, buffering
 * their live events. A reconnect storm then holds a few replays in memory, not one per client.
 */
const MAX_CONCURRENT_RESUMES = 4
/** Most prepared replay events kept for the resumes running at the same time. */
const MAX_PREPARED = 50_000

/**
 * For each channel: buffer its live events for this connection, wait until the bridge hears it,
 * read the history in one atomic step, write the replay (or the snapshot) and hand back the
 * ack entries; `live()` then flushes the buffered events newer than what was read. Without a
 * history (the bus), or when Redis cannot be read, channels join live at once, with `recovered:
 * false` where a position was given.
 */
export function createResume(options: ResumeOptions): Resume {
  const {
    bridge,
    subscriptions,
    fanout,
    stats,
    logger,
    maxClientBufferBytes,
    drainTimeoutMs,
    staleTaskMs,
  } = options
  let resuming = 0
  const waiting: Array<() => void> = []
  /**
   * Replayed events validated and framed while resumes overlap, by channel and position: a
   * reconnect storm replays the same entries to every client. Emptied when no resume runs.
   */
  const prepared = new Map<string, OutboundEvent>()
  return {
    get running() {
      return resuming
    },
    get waiting() {
      return waiting.length
    },
    async join(connection, joins) {
      const history = bridge.history
      if (!history) {
        for (const { channel } of joins) subscriptions.add(connection, channel)
        return { results: joins.map((join) => result(join, undefined)), live: () => {} }
      }
      for (const { channel } of joins) {
        // A resubscribe starts over: what is queued for it is replayed or older than `since`.
        fanout.forget(connection, channel.name)
        subscriptions.hold(connection, channel)
      }
      // A resume on a gateway still connecting to Redis waits for it: its replay needs the history.
      const heard = await Promise.all(
        joins.map(({ channel, since }) =>
          bridge.subscribed(channel.name, { waitForStart: since !== undefined }),
        ),
      )
      const reads = new Map<Join, ChannelHistory>()
      const resumes = joins.some((join) => join.since !== undefined)
      if (resumes) await turn()
      try {
        // A connection that closed while it waited reads nothing.
        const readable = joins.filter(
          (join, i) => heard[i] && holding(connection, join.channel.name),
        )
        if (readable.length > 0) {
          try {
            const got = await history.read(
              readable.map(({ channel, since }) => ({
                channel,
                since: since === undefined || since === SINCE_START ? since : parsePosition(since),
              })),
            )
            for (const [i, join] of readable.entries()) reads.set(join, got[i]!)
          } catch (error) {
            stats.history.readFailures++
            logger.warn({ error: (error as Error).message }, 'history unreadable: joined live only')
          }
        }
        const sources = joins.flatMap((join): Source[] => {
          const read = reads.get(join)
          if (!read || !holding(connection, join.channel.name)) return []
          return [read.recoverable ? replayOf(join.channel, read) : snapshotOf(join.channel, read)]
        })
        await writeInOrder(connection, sources)
      } finally {
        if (resumes) done()
      }
      return {
        results: joins.map((join) => result(join, reads.get(join))),
        live() {
          // One delivery in arrival order, which is the order of publication (one subscriber
          // connection hears every channel): channel by channel would put, say, a task's last
          // event (events:tasks) before stocks that came ahead of it (events:indicators).
          const newer = joins.flatMap((join) => {
            const buffered = subscriptions.release(connection, join.channel.name) ?? []
            const read = reads.get(join)
            return buffered.filter((e) => isAfter(e, read))
          })
          fanout.deliver(
            connection,
            newer.sort((a, b) => a.arrival - b.arrival),
          )
        },
      }
    },
  }

  function result({ channel, since }: Join, read: ChannelHistory | undefined): ChannelResult {
    const position =
      read?.epoch !== undefined && read.lastId !== undefined
        ? formatPosition(read.epoch, read.lastId)
        : undefined
    if (since !== undefined) stats.resumes[read?.recoverable ? 'recovered' : 'unrecovered']++
    return {
      channel: channel.name,
      ok: true,
      ...(since === undefined ? {} : { recovered: read?.recoverable === true }),
      ...(position === undefined ? {} : { position }),
    }
  }

  /**
   * Writes what the joined channels missed (replays) or need (snapshots) as one sequence in the
   * order of publication (`seq`) across channels, the copies of one event on two channels one
   * after the other; REPLAY_CHUNK events per write, pacing on the socket's buffer. Then the
   * `task_stale` notices of the snapshots' tasks.
   */
  async function writeInOrder(connection: Connection, sources: Source[]): Promise<void> {
    const live = sources.filter((source) => source.next() !== undefined)
    while (live.length > 0) {
      if (connection.readyState !== WebSocket.OPEN) return
      const events: OutboundEvent[] = []
      while (events.length < REPLAY_CHUNK && live.length > 0) {
        let first = 0
        for (let i = 1; i < live.length; i++) {
          if (publishedBefore(live[i]!.next()!, live[first]!.next()!)) first = i
        }
        const source = live[first]!
        events.push(source.take())
        if (source.next() === undefined) live.splice(first, 1)
      }
      fanout.write(connection, events)
      for (const event of events) {
        if (event.position === undefined) stats.history.snapshot++
        else stats.history.replayed++
      }
      if (connection.bufferedAmount <= maxClientBufferBytes / 2) await yieldToLive()
      else if (!(await drained(connection, drainTimeoutMs))) return closeSlow(connection)
    }
    const now = Date.now()
    for (const source of sources) {
      for (const text of source.notices(now)) {
        if (connection.readyState === WebSocket.OPEN) connection.send(text)
      }
    }
  }

  /** A replay the client does not read: its slot goes to the next resume. */
  function closeSlow(connection: Connection): void {
    if (connection.readyState !== WebSocket.OPEN) return
    stats.slowDisconnects++
    logger.debug({ connection: connection.id }, 'replay not drained in time')
    shut(connection, CloseCode.SLOW_CLIENT, 'client too slow')
  }

  /** The entries after `since`, prepared as delivered live, one at a time. */
  function replayOf(channel: ParsedChannel, read: ChannelHistory): Source {
    const epoch = read.epoch ?? ''
    let index = 0
    let head: OutboundEvent | undefined
    const advance = () => {
      head = undefined
      while (head === undefined && index < read.entries.length) {
        const { id, json } = read.entries[index++]!
        const key = `${channel.name} ${epoch}:${id}`
        head = prepared.get(key)
        if (head) continue
        head = fanout.prepare(channel, asDelivered(json, channel.name, epoch, id), 'history')
        if (head) remember(key, head)
      }
    }
    advance()
    return {
      next: () => head,
      take() {
        const event = head!
        advance()
        return event
      },
      notices: () => [],
    }
  }

  /** The latest progress of the channel's running tasks (no position), oldest first. */
  function snapshotOf(channel: ParsedChannel, read: ChannelHistory): Source {
    const events = read.tasks
      .map((text) => fanout.prepare(channel, asSnapshot(text, channel.name), 'history'))
      .filter((event) => event !== undefined)
      .sort((a, b) => (publishedBefore(a, b) ? -1 : publishedBefore(b, a) ? 1 : 0))
    let index = 0
    return {
      next: () => events[index],
      take: () => events[index++]!,
      notices: (now) =>
        events.flatMap((event) => staleTask(event.text, staleTaskMs, now)?.notice ?? []),
    }
  }

  /** Waits for one of the MAX_CONCURRENT_RESUMES slots. */
  async function turn(): Promise<void> {
    if (resuming < MAX_CONCURRENT_RESUMES) {
      resuming++
      return
    }
    await new Promise<void>((resolve) => waiting.push(resolve))
  }

  /** Hands the slot to the next resume waiting, if any. */
  function done(): void {
    const next = waiting.shift()
    if (next) next()
    else if (--resuming === 0) prepared.clear()
  }

  function remember(key: string, event: OutboundEvent): void {
    prepared.set(key, event)
    if (prepared.size > MAX_PREPARED) prepared.delete(prepared.keys().next().value as string)
  }

  function holding(connection: Connection, channel: string): boolean {
    return (
      connection.readyState === WebSocket.OPEN &&
      subscriptions.lookup(channel)?.held.has(connection) === true
    )
  }
}

/** Whether a live event buffered during a join is newer than what the join read. */
function isAfter(event: OutboundEvent, read: ChannelHistory | undefined): boolean {
  if (read?.epoch === undefined || read.lastId === undefined || event.position === undefined) {
    return true
  }
  const position = parsePosition(event.position)
  return (
    position === undefined ||
    position.epoch !== read.epoch ||
    compareStreamIds(position.id, read.lastId) > 0
  )
}

/** Events of one joined channel to write before it goes live, in their channel's order. */
interface Source {
  /** The next event, undefined once all are taken. */
  next(): OutboundEvent | undefined
  take(): OutboundEvent
  /** Notices to send after the events: the `task_stale` of a snapshot's silent tasks. */
  notices(now: number): string[]
}

/**
 * Whether `a` was published before `b`: by `seq` (one counter for every channel), else by
 * timestamp for events of producers older than contract 1.2.
 */
function publishedBefore(a: OutboundEvent, b: OutboundEvent): boolean {
  return a.seq !== undefined && b.seq !== undefined ? a.seq < b.seq : a.timestamp < b.timestamp
}
