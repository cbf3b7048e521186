import { ChannelNameError } from './errors.js'
import type { EventOf, EventType, StockPulseEvent } from './events.js'

// ---- Names ----

export const TASKS_ALL = 'events:tasks'
export const TASK_SPECIFIC = 'events:task:{task_id}'
export const MARKET_ALL = 'events:market'
export const MARKET_SPECIFIC = 'events:market:{stock_code}'
export const INDICATORS_ALL = 'events:indicators'
export const SYSTEM = 'events:system'
export const USER_SPECIFIC = 'events:user:{user_id}'

/** Longest id accepted inside a channel name. */
export const MAX_CHANNEL_ID_LENGTH = 64
const ID_PATTERN = /^[A-Za-z0-9_.-]+$/

export type TaskChannel = `events:task:${string}`
export type MarketChannel = `events:market:${string}`
export type UserChannel = `events:user:${string}`
export type Channel =
  | typeof TASKS_ALL
  | typeof MARKET_ALL
  | typeof INDICATORS_ALL
  | typeof SYSTEM
  | TaskChannel
  | MarketChannel
  | UserChannel

export type ChannelKind =
  | 'tasks'
  | 'task'
  | 'market'
  | 'market_stock'
  | 'indicators'
  | 'system'
  | 'user'

/** Which event types may travel on each kind of channel. */
export const CHANNEL_EVENT_TYPES = {
  tasks: ['task.progress', 'task.completed'],
  task: ['task.progress', 'stock.indicators.completed', 'task.completed'],
  market: ['market.snapshot'],
  market_stock: ['market.snapshot'],
  indicators: ['stock.indicators.completed'],
  system: ['system.heartbeat'],
  user: ['user.notification'],
} as const satisfies Record<ChannelKind, readonly EventType[]>

type KindOf<C extends Channel> = C extends typeof TASKS_ALL
  ? 'tasks'
  : C extends typeof MARKET_ALL
    ? 'market'
    : C extends typeof INDICATORS_ALL
      ? 'indicators'
      : C extends typeof SYSTEM
        ? 'system'
        : C extends TaskChannel
          ? 'task'
          : C extends MarketChannel
            ? 'market_stock'
            : C extends UserChannel
              ? 'user'
              : never

/** The events allowed on channel C: `publish(channel, event)` is typed with it. */
export type EventFor<C extends Channel> = EventOf<(typeof CHANNEL_EVENT_TYPES)[KindOf<C>][number]>

// ---- Builders ----

/** `events:task:{task_id}`; throws when the id cannot form a valid channel. */
export const taskChannel = (taskId: string): TaskChannel => `events:task:${checkId(taskId)}`
/** `events:market:{stock_code}`; throws when the code cannot form a valid channel. */
export const marketChannel = (stockCode: string): MarketChannel =>
  `events:market:${checkId(stockCode)}`
/** `events:user:{user_id}`; throws when the id cannot form a valid channel. */
export const userChannel = (userId: string): UserChannel => `events:user:${checkId(userId)}`

// ---- Parser ----

export interface ParsedChannel {
  readonly name: Channel
  readonly kind: ChannelKind
  /** task id, stock code or user id for the parameterised kinds */
  readonly id?: string
}

export type ChannelParseResult =
  | { readonly ok: true; readonly channel: ParsedChannel }
  | { readonly ok: false; readonly reason: string }

// A Map, not an object: a name like `constructor` or `__proto__` must not find Object.prototype.
const FIXED: ReadonlyMap<string, ChannelKind> = new Map([
  [TASKS_ALL, 'tasks'],
  [MARKET_ALL, 'market'],
  [INDICATORS_ALL, 'indicators'],
  [SYSTEM, 'system'],
])
const PARAMETERISED: ReadonlyArray<readonly [prefix: string, kind: ChannelKind]> = [
  ['events:task:', 'task'],
  ['events:market:', 'market_stock'],
  ['events:user:', 'user'],
]

/**
 * Accepts exactly the channel shapes of the catalogue. Ids are 1-64 of `A-Z a-z 0-9 _ . -`, so
 * Redis glob characters, whitespace and control characters can never reach a SUBSCRIBE.
 */
export function parseChannel(name: unknown): ChannelParseResult {
  if (typeof name !== 'string') return { ok: false, reason: 'channel must be a string' }
  const fixed = FIXED.get(name)
  if (fixed) return { ok: true, channel: { name: name as Channel, kind: fixed } }
  for (const [prefix, kind] of PARAMETERISED) {
    if (!name.startsWith(prefix)) continue
    const reason = idProblem(name.slice(prefix.length))
    if (reason) return { ok: false, reason: `${prefix}{id}: ${reason}` }
    return { ok: true, channel: { name: name as Channel, kind, id: name.slice(prefix.length) } }
  }
  return { ok: false, reason: `unknown channel ${JSON.stringify(name.slice(0, 80))}` }
}

// ---- Catalogue ----

export interface ChannelInfo {
  readonly pattern: string
  readonly kind: ChannelKind
  readonly description: string
  readonly event_types: readonly EventType[]
}

/** Every channel shape with what it carries; served by the gateway at `GET /ws/channels`. */
export const CHANNEL_CATALOGUE: readonly ChannelInfo[] = (
  [
    { pattern: TASKS_ALL, kind: 'tasks', description: 'Progress and completion of every task' },
    {
      pattern: TASK_SPECIFIC,
      kind: 'task',
      description: 'Everything about one task, including each stock it finishes',
    },
    {
      pattern: INDICATORS_ALL,
      kind: 'indicators',
      description: 'One event per stock finished, all tasks',
    },
    {
      pattern: MARKET_ALL,
      kind: 'market',
      description: 'Latest bar and indicators of every stock',
    },
    {
      pattern: MARKET_SPECIFIC,
      kind: 'market_stock',
      description: 'Latest bar and indicators of one stock',
    },
    { pattern: SYSTEM, kind: 'system', description: 'Service heartbeats' },
    {
      pattern: USER_SPECIFIC,
      kind: 'user',
      description: "Messages for one user; only that user's authenticated connections may join",
    },
  ] satisfies Omit<ChannelInfo, 'event_types'>[]
).map((c) => ({ ...c, event_types: CHANNEL_EVENT_TYPES[c.kind] }))

/** True when an event of this type may be published on a channel of this kind. */
export function isEventAllowedOn(kind: ChannelKind, eventType: EventType): boolean {
  return (CHANNEL_EVENT_TYPES[kind] as readonly EventType[]).includes(eventType)
}

/**
 * True when the event's own id names the channel's id: `task_id` on `events:task:{id}`,
 * `stock_code` on `events:market:{code}`, `user_id` on `events:user:{id}` (always true on the
 * channels without an id). Bob's notification on Alice's channel is not Alice's.
 */
export function isEventBoundTo(channel: ParsedChannel, event: StockPulseEvent): boolean {
  switch (channel.kind) {
    case 'task':
      return 'task_id' in event && event.task_id === channel.id
    case 'market_stock':
      return 'stock_code' in event && event.stock_code === channel.id
    case 'user':
      return 'user_id' in event && event.user_id === channel.id
    default:
      return true
  }
}

// ---- Helpers ----

function idProblem(id: string): string | undefined {
  if (id.length === 0) return 'id is empty'
  if (id.length > MAX_CHANNEL_ID_LENGTH)
    return `id is longer than ${MAX_CHANNEL_ID_LENGTH} characters`
  if (!ID_PATTERN.test(id)) return 'id may only contain A-Z a-z 0-9 _ . -'
  return undefined
}

function checkId(id: string): string {
  const reason = idProblem(id)
  if (reason) throw new ChannelNameError(id, reason)
  return id
}
