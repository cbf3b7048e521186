import {
  type ChannelResult,
  compareStreamIds,
  formatPosition,
  INDICATORS_ALL,
  MARKET_ALL,
  marketChannel,
  type ParsedPosition,
  parsePosition,
  type StockPulseEvent,
  SYSTEM,
  TASKS_ALL,
  taskChannel,
  userChannel,
} from '@stockpulse/events'

// The gateway sends an event once per joined channel that carries it. Since contract 1.2 each
// copy names its channel and carries its position there, and every copy of one event has the same
// `seq`: a position is credited to exactly the channel that delivered it, and a copy is dropped
// when its `seq` was delivered already (on another channel, or before a reconnect). Events of
// older producers (no `channel`, no `seq`) are credited to the one joined channel that can carry
// them, and delivered as they come.

export interface PositionTrackerOptions {
  /** How many `seq` of delivered events are remembered to recognise their copies. */
  memory?: number
}

export interface PositionTracker {
  /**
   * Whether `event`, arrived while `joined` were joined, is new; records its position. False for
   * an event at or before its channel's last position (same epoch) and for a copy of an event
   * already delivered, unless it comes on one of `wholeReplays`: channels being replayed from
   * their first event, whose events are wanted again (a task page opened a second time).
   */
  admit(
    event: StockPulseEvent,
    joined: ReadonlySet<string>,
    wholeReplays?: ReadonlySet<string>,
  ): boolean
  /** Takes an ok ack entry's `position` as the resume point, unless its replay is still to come. */
  acknowledge(result: ChannelResult): void
  /** `since` for a subscribe frame: channel -> position, for those of `channels` with one. */
  since(channels: readonly string[]): Record<string, string> | undefined
  /** Drops a channel's position, when it is left: joining it again starts afresh. */
  forget(channel: string): void
  /**
   * A new connection that resumes nothing: no copy of an earlier event can come on it, and its
   * producer may have started counting again (the one-process demo restarted), so the `seq`
   * remembered are forgotten.
   */
  restart(): void
}

/** Channels an event can travel on, by the contract's channel catalogue. */
export function channelsCarrying(event: StockPulseEvent): string[] {
  switch (event.event_type) {
    case 'task.progress':
    case 'task.completed':
      return [TASKS_ALL, taskChannel(event.task_id)]
    case 'stock.indicators.completed':
      return event.task_id ? [INDICATORS_ALL, taskChannel(event.task_id)] : [INDICATORS_ALL]
    case 'market.snapshot':
      return [MARKET_ALL, marketChannel(event.stock_code)]
    case 'system.heartbeat':
      return [SYSTEM]
    case 'user.notification':
      return [userChannel(event.user_id)]
  }
}

/** Per-channel positions of a connection's events, kept across reconnects to resume from. */
export function createPositionTracker(options: PositionTrackerOptions = {}): PositionTracker {
  const { memory = 10_000 } = options
  /** Newest position delivered on each channel: older events there are repeats. */
  const seen = new Map<string, ParsedPosition>()
  /** Where each channel resumes: `seen`, or a newer ack position. */
  const resume = new Map<string, ParsedPosition>()
  /** `seq` of the events delivered lately, in the current epoch. */
  const delivered = new Set<number>()
  let epoch: string | undefined

  function credit(channel: string, position: ParsedPosition) {
    seen.set(channel, newer(seen.get(channel), position))
    resume.set(channel, newer(resume.get(channel), position))
  }

  return {
    admit(event, joined, wholeReplays) {
      const position = event.position === undefined ? undefined : parsePosition(event.position)
      if (position && position.epoch !== epoch) {
        // A new history: its numbering starts again.
        if (epoch !== undefined) delivered.clear()
        epoch = position.epoch
      }
      const channel = event.channel ?? soleCarrier(event, joined)
      if (channel !== undefined && position) {
        const last = seen.get(channel)
        if (last !== undefined && !isAfter(position, last)) return false
        credit(channel, position)
      }
      if (event.seq === undefined) return true
      if (delivered.has(event.seq) && !(channel !== undefined && wholeReplays?.has(channel)))
        return false
      delivered.add(event.seq)
      if (delivered.size > memory) delivered.delete(delivered.values().next().value as number)
      return true
    },
    acknowledge(result) {
      if (!result.ok || result.recovered === true || result.position === undefined) return
      const position = parsePosition(result.position)
      if (position) resume.set(result.channel, newer(resume.get(result.channel), position))
    },
    since(channels) {
      const entries = channels.flatMap((channel) => {
        const position = resume.get(channel)
        return position ? [[channel, formatPosition(position.epoch, position.id)] as const] : []
      })
      return entries.length > 0 ? Object.fromEntries(entries) : undefined
    },
    forget(channel) {
      seen.delete(channel)
      resume.delete(channel)
    },
    restart() {
      delivered.clear()
    },
  }
}

/** The one joined channel that can carry `event`, when there is exactly one. */
function soleCarrier(event: StockPulseEvent, joined: ReadonlySet<string>): string | undefined {
  const carriers = channelsCarrying(event).filter((channel) => joined.has(channel))
  return carriers.length === 1 ? carriers[0] : undefined
}

/** After `last` in the same epoch; any position of another epoch is new (the history restarted). */
function isAfter(position: ParsedPosition, last: ParsedPosition): boolean {
  return position.epoch !== last.epoch || compareStreamIds(position.id, last.id) > 0
}

/** The later of two positions; the new one when their epochs differ. */
function newer(known: ParsedPosition | undefined, next: ParsedPosition): ParsedPosition {
  return known && !isAfter(next, known) ? known : next
}
