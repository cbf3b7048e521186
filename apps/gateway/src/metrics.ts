import { CHANNEL_EVENT_TYPES, type ChannelKind } from '@stockpulse/events'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { Bridge, BridgeState } from './bridge.js'

/**
 * Why a message from the bridge, or an event meant for a client, was not delivered.
 * `invalid_history`: a stream entry, task state or run read from Redis that breaks the contract.
 * `too_large`: over MAX_EVENT_BYTES. `wrong_id`: its `task_id`/`stock_code`/`user_id` is not the
 * channel's id. `failed`: the gateway threw while routing it (a bug; logged).
 */
export type DropReason =
  | 'invalid_event'
  | 'wrong_channel'
  | 'wrong_id'
  | 'too_large'
  | 'conflated'
  | 'slow_client'
  | 'invalid_history'
  | 'failed'
const DROP_REASONS: readonly DropReason[] = [
  'invalid_event',
  'wrong_channel',
  'wrong_id',
  'too_large',
  'conflated',
  'slow_client',
  'invalid_history',
  'failed',
]

/** How the subscribes that named a `since` position came out. */
export type ResumeOutcome = 'recovered' | 'unrecovered'

/** Channel families: the contract's channel kinds. */
export const FAMILIES = Object.keys(CHANNEL_EVENT_TYPES) as ChannelKind[]

/** Plain counters on the hot path; `/ws/stats` and `/metrics` read them. */
export interface GatewayStats {
  readonly startedAt: number
  readonly received: Record<ChannelKind, number>
  readonly sent: Record<ChannelKind, number>
  readonly dropped: Record<DropReason, number>
  slowDisconnects: number
  /** close code -> connections closed with it */
  readonly closes: Map<number, number>
  readonly resumes: Record<ResumeOutcome, number>
  /** Events written to clients from the history: replays, and snapshots (no position). */
  readonly history: { replayed: number; snapshot: number; readFailures: number }
  /** `GET /api/stocks/{code}` reads PostgreSQL did not answer (DATABASE_URL). */
  databaseReadFailures: number
}

/** What the gauges read at scrape time. */
export interface LiveState {
  connections(): number
  /** TCP connections not (yet) WebSockets: HTTP requests, upgrades in progress. */
  pendingConnections(): number
  /** Subscribe/unsubscribe frames waiting or in progress, over all connections. */
  queuedSubscribes(): number
  /** Live events held for connections catching up. */
  heldEvents(): number
  /** Resumes reading or replaying, and waiting for a slot. */
  resumes(): { running: number; waiting: number }
  subscriptionsByFamily(): Record<ChannelKind, number>
  bridgeReady(): boolean
  /** Running tasks silent for STALE_TASK_S at the last sweep. */
  staleTasks(): number
}

export interface Metrics {
  readonly stats: GatewayStats
  readonly registry: Registry
  /** Records how long after its `timestamp` an event was written to the sockets. */
  observeLag(seconds: number): void
}

const PREFIX = 'stockpulse_gateway_'

/** A registry of its own per gateway (tests run several), with default process metrics. */
export function createMetrics(live: LiveState): Metrics {
  const stats: GatewayStats = {
    startedAt: Date.now(),
    received: zeroes(FAMILIES),
    sent: zeroes(FAMILIES),
    dropped: zeroes(DROP_REASONS),
    slowDisconnects: 0,
    closes: new Map(),
    resumes: { recovered: 0, unrecovered: 0 },
    history: { replayed: 0, snapshot: 0, readFailures: 0 },
    databaseReadFailures: 0,
  }
  const registry = new Registry()
  const registers = [registry]
  collectDefaultMetrics({ register: registry, prefix: PREFIX })

  gaugeOf('connections', 'Open WebSocket connections', live.connections)
  gaugeOf(
    'pending_connections',
    'TCP connections not (yet) WebSockets: HTTP requests and upgrades in progress',
    live.pendingConnections,
  )
  gaugeOf(
    'queued_subscribes',
    'Subscribe/unsubscribe frames waiting or in progress, over all connections',
    live.queuedSubscribes,
  )
  gaugeOf(
    'held_events',
    'Live events held for connections catching up (replay or snapshot)',
    live.heldEvents,
  )
  gaugeOf(
    'resumes_running',
    'Resumes reading or replaying the history now',
    () => live.resumes().running,
  )
  gaugeOf(
    'resumes_waiting',
    'Resumes waiting for a slot (at most 4 run at a time)',
    () => live.resumes().waiting,
  )
  new Gauge({
    name: `${PREFIX}subscriptions`,
    help: 'Channel subscriptions of all connections, by channel family',
    labelNames: ['family'],
    registers,
    collect() {
      for (const [family, count] of Object.entries(live.subscriptionsByFamily())) {
        this.set({ family }, count)
      }
    },
  })
  gaugeOf(
    'bridge_ready',
    '1 while the Redis subscriber (or in-process bus) delivers events, else 0',
    () => (live.bridgeReady() ? 1 : 0),
  )
  gaugeOf(
    'stale_tasks',
    'Running tasks that sent no event for STALE_TASK_S, at the last sweep',
    live.staleTasks,
  )
  counterOf(
    'messages_received_total',
    'Messages from the bridge, by channel family',
    'family',
    () => Object.entries(stats.received),
  )
  counterOf('messages_sent_total', 'Events written to sockets, by channel family', 'family', () =>
    Object.entries(stats.sent),
  )
  counterOf('messages_dropped_total', 'Messages or deliveries dropped, by reason', 'reason', () =>
    Object.entries(stats.dropped),
  )
  counterOf('closes_total', 'Connections closed, by WebSocket close code', 'code', () =>
    [...stats.closes].map(([code, count]) => [String(code), count]),
  )
  counterOf('slow_disconnects_total', 'Clients closed with SLOW_CLIENT', undefined, () => [
    ['', stats.slowDisconnects],
  ])
  counterOf('resumes_total', 'Subscribes with a `since` position, by outcome', 'outcome', () =>
    Object.entries(stats.resumes),
  )
  counterOf('history_events_total', 'Events written from the history, by kind', 'kind', () => [
    ['replayed', stats.history.replayed],
    ['snapshot', stats.history.snapshot],
  ])
  counterOf('history_read_failures_total', 'History reads Redis did not answer', undefined, () => [
    ['', stats.history.readFailures],
  ])
  counterOf(
    'database_read_failures_total',
    'Stock page reads PostgreSQL did not answer (DATABASE_URL)',
    undefined,
    () => [['', stats.databaseReadFailures]],
  )
  const lag = new Histogram({
    name: `${PREFIX}delivery_lag_seconds`,
    help: "From an event's timestamp (set by its producer) to its write to the sockets",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  })
  return { stats, registry, observeLag: (seconds) => lag.observe(seconds) }

  /** A gauge read from the gateway's state at scrape time. */
  function gaugeOf(name: string, help: string, read: () => number): void {
    new Gauge({
      name: `${PREFIX}${name}`,
      help,
      registers,
      collect() {
        this.set(read())
      },
    })
  }

  /** A counter whose values are copied from `stats` at scrape time, not incremented in place. */
  function counterOf(
    name: string,
    help: string,
    label: string | undefined,
    values: () => Array<[string, number]>,
  ): void {
    new Counter({
      name: `${PREFIX}${name}`,
      help,
      labelNames: label ? [label] : [],
      registers,
      collect() {
        this.reset()
        for (const [value, count] of values()) {
          if (label) this.inc({ [label]: value }, count)
          else this.inc(count)
        }
      },
    })
  }
}

/** The body of `GET /ws/stats`. */
export interface GatewayStatsSnapshot {
  readonly connections: number
  readonly pending_connections: number
  readonly queued_subscribes: number
  readonly held_events: number
  readonly channels: Record<string, number>
  readonly messages: { readonly received: number; readonly sent: number; readonly dropped: number }
  readonly received_by_family: Record<string, number>
  readonly sent_by_family: Record<string, number>
  readonly dropped_by_reason: Record<string, number>
  readonly slow_disconnects: number
  readonly congested_connections: number
  readonly closes_by_code: Record<string, number>
  readonly bridge: { readonly kind: Bridge['kind']; readonly state: BridgeState }
  readonly resumes: {
    readonly recovered: number
    readonly unrecovered: number
    readonly running: number
    readonly waiting: number
  }
  readonly history_events: { readonly replayed: number; readonly snapshot: number }
  readonly history_read_failures: number
  readonly stale_tasks: number
  readonly uptime_seconds: number
}

/** What `/ws/stats` reports besides the counters. */
export interface LiveSnapshot {
  readonly connections: number
  readonly pendingConnections: number
  readonly queuedSubscribes: number
  readonly heldEvents: number
  readonly resumes: { readonly running: number; readonly waiting: number }
  readonly channels: Record<string, number>
  readonly congested: number
  readonly bridge: { readonly kind: Bridge['kind']; readonly state: BridgeState }
  readonly staleTasks: number
}

export function statsSnapshot(stats: GatewayStats, live: LiveSnapshot): GatewayStatsSnapshot {
  return {
    connections: live.connections,
    pending_connections: live.pendingConnections,
    queued_subscribes: live.queuedSubscribes,
    held_events: live.heldEvents,
    channels: live.channels,
    messages: { received: sum(stats.received), sent: sum(stats.sent), dropped: sum(stats.dropped) },
    received_by_family: { ...stats.received },
    sent_by_family: { ...stats.sent },
    dropped_by_reason: { ...stats.dropped },
    slow_disconnects: stats.slowDisconnects,
    congested_connections: live.congested,
    closes_by_code: Object.fromEntries(stats.closes),
    bridge: live.bridge,
    resumes: { ...stats.resumes, ...live.resumes },
    history_events: { replayed: stats.history.replayed, snapshot: stats.history.snapshot },
    history_read_failures: stats.history.readFailures,
    stale_tasks: live.staleTasks,
    uptime_seconds: Math.round((Date.now() - stats.startedAt) / 1000),
  }
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((total, count) => total + count, 0)
}

function zeroes<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>
}
