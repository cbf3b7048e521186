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

// Events do not say which channel delivered them, and the gateway sends an event once per joined
// channel that carries it, each copy with its position in that channel. So a position is credited
// to the one joined channel that can carry the event; when two joined channels can (events:tasks
// and events:task:{id} both carry that task's progress), the first copy is delivered, later copies
// are recognised by their content and dropped, and once the two copies are in, each channel is
// credited with the older of their positions: never ahead of what it delivered, so a resume can
// replay a little again (and the copies are dropped) but never skip an event.

export interface PositionTrackerOptions {
  /** How many events that two joined channels carry are remembered to recognise their copies. */
  memory?: number
}

export interface PositionTracker {
  /**
   * Whether `event`, arrived while `joined` were joined, is new; records its position. False for
   * an event at or before its channel's last position (same epoch) and for a second copy.
   */
  admit(event: StockPulseEvent, joined: ReadonlySet<string>): boolean
  /** Takes an ok ack entry's `position` as the resume point, unless its replay is still to come. */
  acknowledge(result: ChannelResult): void
  /** `since` for a subscribe frame: channel -> position, for those of `channels` with one. */
  since(channels: readonly string[]): Record<string, string> | undefined
  /** Drops a channel's position, when it is left: joining it again starts afresh. */
  forget(channel: string): void
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
  const { memory = 1_000 } = options
  /** Newest position delivered on each channel: older events there are repeats. */
  const seen = new Map<string, ParsedPosition>()
  /** Where each channel resumes: `seen`, or a newer ack position. */
  const resume = new Map<string, ParsedPosition>()
  /** Events two joined channels carry, by content, with the position of their first copy. */
  const shared = new Map<string, ParsedPosition | undefined>()

  function credit(channel: string, position: ParsedPosition) {
    seen.set(channel, newer(seen.get(channel), position))
    resume.set(channel, newer(resume.get(channel), position))
  }

  return {
    admit(event, joined) {
      const channels = channelsCarrying(event).filter((channel) => joined.has(channel))
      const position = event.position === undefined ? undefined : parsePosition(event.position)
      const repeat = (channel: string) => {
        const last = seen.get(channel)
        return position !== undefined && last !== undefined && !isAfter(position, last)
      }
      const [only, other] = channels
      if (only === undefined) return true
      if (other === undefined) {
        if (repeat(only)) return false
        if (position) credit(only, position)
        return true
      }
      const key = contentKey(event)
      if (shared.has(key)) {
        const first = shared.get(key)
        if (first && position && first.epoch === position.epoch && first.id !== position.id) {
          const older = compareStreamIds(first.id, position.id) < 0 ? first : position
          for (const channel of channels) credit(channel, older)
        }
        return false
      }
      if (channels.every(repeat)) return false
      shared.set(key, position)
      if (shared.size > memory) shared.delete(shared.keys().next().value as string)
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
  }
}

/** After `last` in the same epoch; any position of another epoch is new (the history restarted). */
function isAfter(position: ParsedPosition, last: ParsedPosition): boolean {
  return position.epoch !== last.epoch || compareStreamIds(position.id, last.id) > 0
}

/** The later of two positions; the new one when their epochs differ. */
function newer(known: ParsedPosition | undefined, next: ParsedPosition): ParsedPosition {
  return known && !isAfter(next, known) ? known : next
}

/** The event without its position: the same for every copy of it. */
function contentKey(event: StockPulseEvent): string {
  return JSON.stringify({ ...event, position: undefined })
}
