import { type Static, type TSchema, Type } from '@sinclair/typebox'
import { IDENTIFIER, IDENTIFIER_TEXT } from './identifier.js'

// ---- Shared pieces ----

/**
 * Contract version stamped on every event this package creates. 1.3: `task.progress` carries
 * `started_at`, a subscribe's `since` may be "start", `system.heartbeat` describes a serve worker
 * (`host`, `threads`, `chunks_done`, `current_chunk`, `next_run_at`), runs are started and
 * cancelled over HTTP (`RunRequest`, `RunAccepted`, `WorkersResponse`, `ScheduleResponse`) instead
 * of the worker command channel, and the dashboard's /api bodies (`SessionResponse`,
 * `StockResultsResponse`, `ApiRefusal`).
 */
export const EVENT_VERSION = '1.3'

/** ISO-8601 timestamp; producers write UTC (`...Z`), consumers also accept an explicit offset. */
export const Timestamp = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$',
  description: 'ISO-8601 date-time, UTC (Z) when produced by StockPulse',
})

/** Identifier usable inside a channel name: task ids, stock codes, user ids. */
export const Identifier = Type.String({
  pattern: IDENTIFIER.source,
  description: IDENTIFIER_TEXT,
})

/** Pattern of a position: `<epoch>:<ms>-<seq>` (see history.ts). */
export const POSITION_PATTERN = '^[A-Za-z0-9]{1,32}:\\d{1,20}-\\d{1,20}$'

/** Since 1.1: where an event stands in the channel it was delivered on; resume from it. */
export const Position = Type.String({
  pattern: POSITION_PATTERN,
  description: 'Since 1.1: "<epoch>:<stream id>" of this event in its channel; resume from it',
})

/** Pattern of a channel name of the catalogue (see channels.ts). */
export const CHANNEL_PATTERN =
  '^events:(tasks|indicators|market|system|(task|market|user):[A-Za-z0-9_.-]{1,64})$'

/**
 * Since 1.2: the event's number in the order of publication, one counter for every channel and
 * task of a history (see history.ts): the same event on two channels has one `seq`, and a later
 * event a larger one. It starts again at 1 in a new epoch.
 */
export const Seq = Type.Integer({
  minimum: 1,
  description:
    'Since 1.2: order of publication across all channels and tasks; one number per event, whatever its channels',
})

export const TaskStatus = Type.Union(
  [
    Type.Literal('pending'),
    Type.Literal('running'),
    Type.Literal('completed'),
    Type.Literal('failed'),
    Type.Literal('cancelled'),
  ],
  { description: 'Lifecycle state of a task' },
)
export type TaskStatus = Static<typeof TaskStatus>

const Count = (description: string) => Type.Integer({ minimum: 0, description })

/** Latest value of each output of each indicator, e.g. `{ "MACD": { "macd": 0.12, ... } }`; null where undefined (lookback). */
export const IndicatorValues = Type.Record(
  Type.String(),
  Type.Record(Type.String(), Type.Union([Type.Number(), Type.Null()])),
  { description: 'indicator id -> output name -> latest value (null during the lookback)' },
)
export type IndicatorValues = Static<typeof IndicatorValues>

/** Why one stock, or one indicator of it, failed. */
export const Failure = Type.Object(
  {
    stock_code: Identifier,
    indicator: Type.Optional(
      Type.String({ description: 'Indicator id; absent when the whole stock failed' }),
    ),
    reason: Type.String({ description: 'Human-readable cause' }),
  },
  { $id: 'Failure' },
)
export type Failure = Static<typeof Failure>

const base = <T extends string>(eventType: T) => ({
  event_type: Type.Literal(eventType),
  timestamp: Timestamp,
  version: Type.Optional(
    Type.String({ description: 'Contract version; absent in pre-1.0 producers, read as "1.0"' }),
  ),
  position: Type.Optional(Position),
  seq: Type.Optional(Seq),
  channel: Type.Optional(
    Type.String({
      pattern: CHANNEL_PATTERN,
      description: 'Since 1.2: the channel that carried this copy of the event',
    }),
  ),
})

// ---- Events ----

export const TaskProgressEvent = Type.Object(
  {
    ...base('task.progress'),
    task_id: Identifier,
    task_type: Type.String({ description: 'Kind of job, e.g. "batch_daily"' }),
    status: TaskStatus,
    progress: Type.Number({ minimum: 0, maximum: 100, description: 'Percent done, 0..100' }),
    message: Type.String({ description: 'Human-readable status line' }),
    processed: Count('Stocks finished so far (succeeded or failed)'),
    total: Count('Stocks in the job; 0 while unknown'),
    failed: Count('Stocks that failed so far'),
    started_at: Type.Optional(
      Type.String({
        pattern: Timestamp.pattern,
        description:
          'Since 1.3: when the task started (its first event); elapsed time counts from it',
      }),
    ),
  },
  {
    $id: 'TaskProgressEvent',
    description: 'Task started, advanced (every 1 % or 50 stocks) or reached 100 %',
  },
)
export type TaskProgressEvent = Static<typeof TaskProgressEvent>

export const StockIndicatorsCompletedEvent = Type.Object(
  {
    ...base('stock.indicators.completed'),
    task_id: Type.Optional(Identifier),
    stock_code: Identifier,
    indicators: Type.Array(Type.String(), {
      description: 'Indicator ids computed successfully, e.g. ["SMA_5", "MACD"]',
    }),
    success_count: Count('Indicators computed'),
    failed_count: Count('Indicators that failed'),
    calculation_time_ms: Type.Number({ minimum: 0, description: 'Time spent on this stock' }),
    from_cache_count: Count('Indicators served from the cache'),
    latest: Type.Optional(IndicatorValues),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          indicator: Type.Optional(Type.String()),
          reason: Type.String(),
        }),
        { description: 'Why indicators failed; no indicator means the whole stock failed' },
      ),
    ),
  },
  {
    $id: 'StockIndicatorsCompletedEvent',
    description: 'One stock finished: every configured indicator in one event',
  },
)
export type StockIndicatorsCompletedEvent = Static<typeof StockIndicatorsCompletedEvent>

export const TaskResult = Type.Object(
  {
    success: Count('Stocks computed without any failure'),
    failed: Count('Stocks with at least one failure'),
    failures: Type.Optional(
      Type.Array(Failure, { description: 'The first failures, capped by the producer' }),
    ),
    failures_omitted: Type.Optional(Count('Failures left out of `failures` by the cap')),
    events_dropped: Type.Optional(Count('Events the producer could not publish (bus down)')),
  },
  { $id: 'TaskResult' },
)
export type TaskResult = Static<typeof TaskResult>

export const TaskCompletedEvent = Type.Object(
  {
    ...base('task.completed'),
    task_id: Identifier,
    task_type: Type.String(),
    status: TaskStatus,
    duration_seconds: Type.Number({ minimum: 0 }),
    result: TaskResult,
    message: Type.Optional(Type.String()),
  },
  {
    $id: 'TaskCompletedEvent',
    description: 'Last event of a task: completed, failed or cancelled',
  },
)
export type TaskCompletedEvent = Static<typeof TaskCompletedEvent>

export const Bar = Type.Object(
  {
    open: Type.Number(),
    high: Type.Number(),
    low: Type.Number(),
    close: Type.Number(),
    volume: Type.Number({ minimum: 0 }),
  },
  { $id: 'Bar', description: 'One daily OHLCV bar' },
)
export type Bar = Static<typeof Bar>

export const MarketSnapshotEvent = Type.Object(
  {
    ...base('market.snapshot'),
    task_id: Type.Optional(Identifier),
    stock_code: Identifier,
    trade_date: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD' }),
    bar: Bar,
    indicators: IndicatorValues,
  },
  { $id: 'MarketSnapshotEvent', description: "A stock's latest bar and indicator values" },
)
export type MarketSnapshotEvent = Static<typeof MarketSnapshotEvent>

export const SystemHeartbeatEvent = Type.Object(
  {
    ...base('system.heartbeat'),
    service: Type.String({ description: 'Which service beats, e.g. "worker"' }),
    instance_id: Identifier,
    uptime_seconds: Type.Number({ minimum: 0 }),
    status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('stopping')]),
    active_task_id: Type.Optional(Identifier),
    host: Type.Optional(Type.String({ description: 'Since 1.3: host name of the worker' })),
    threads: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Since 1.3: compute threads of the worker' }),
    ),
    chunks_done: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Since 1.3: chunks this worker finished' }),
    ),
    current_chunk: Type.Optional(
      Type.String({ description: 'Since 1.3: "<task_id>#<index>" of a chunk being computed' }),
    ),
    next_run_at: Type.Optional(
      Type.String({
        pattern: Timestamp.pattern,
        description: "Since 1.3: when the fleet's schedule fires next (ISO-8601)",
      }),
    ),
  },
  { $id: 'SystemHeartbeatEvent', description: 'A service is alive (workers beat every 10 s)' },
)
export type SystemHeartbeatEvent = Static<typeof SystemHeartbeatEvent>

export const UserNotificationEvent = Type.Object(
  {
    ...base('user.notification'),
    user_id: Identifier,
    level: Type.Union([
      Type.Literal('info'),
      Type.Literal('success'),
      Type.Literal('warning'),
      Type.Literal('error'),
    ]),
    title: Type.String(),
    message: Type.String(),
    task_id: Type.Optional(Identifier),
  },
  { $id: 'UserNotificationEvent', description: 'A message for one user (events:user:{user_id})' },
)
export type UserNotificationEvent = Static<typeof UserNotificationEvent>

/** Every event schema by its `event_type`. */
export const EventSchemas = {
  'task.progress': TaskProgressEvent,
  'stock.indicators.completed': StockIndicatorsCompletedEvent,
  'task.completed': TaskCompletedEvent,
  'market.snapshot': MarketSnapshotEvent,
  'system.heartbeat': SystemHeartbeatEvent,
  'user.notification': UserNotificationEvent,
} as const satisfies Record<string, TSchema>

export type EventType = keyof typeof EventSchemas
export const EVENT_TYPES = Object.keys(EventSchemas) as EventType[]

export const StockPulseEvent = Type.Union(Object.values(EventSchemas), { $id: 'StockPulseEvent' })
export type StockPulseEvent = Static<typeof StockPulseEvent>

/** The event whose `event_type` is T. */
export type EventOf<T extends EventType> = Static<(typeof EventSchemas)[T]>
