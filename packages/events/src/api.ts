import { type Static, Type } from '@sinclair/typebox'
import { Identifier, IndicatorValues, MarketSnapshotEvent } from './events.js'

// Bodies of the gateway's JSON endpoints under /api (the run history is in history.ts).

/** Body of `GET /api/session`: what the dashboard may show and do on this gateway. */
export const SessionResponse = Type.Object(
  {
    auth: Type.Boolean({ description: 'Whether the gateway checks tokens' }),
    user_id: Type.Union([Type.String(), Type.Null()], {
      description: "The token's sub; null with auth off",
    }),
    scopes: Type.Array(Type.String(), {
      description: "The token's scopes; with auth off, every scope (anyone may do anything)",
    }),
    mode: Type.Union([Type.Literal('redis'), Type.Literal('memory')], {
      description:
        'redis: history, run history, stored results and runs are available; memory: the one-process demo without Redis, none of them',
    }),
  },
  { $id: 'SessionResponse', description: 'Who is asking and what this gateway can do' },
)
export type SessionResponse = Static<typeof SessionResponse>

/** One stock's outcome in a task, as the worker stores it in `{prefix}results:{task_id}` and writes it to `--out`. */
export const StoredStockResult = Type.Object(
  {
    stock_code: Identifier,
    trade_date: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })),
    latest: IndicatorValues,
    errors: Type.Optional(
      Type.Array(Type.Object({ indicator: Type.Optional(Type.String()), reason: Type.String() }), {
        description: 'Why indicators failed; no indicator means the whole stock failed',
      }),
    ),
  },
  { $id: 'StoredStockResult', description: "One stock's latest indicator values in a task" },
)
export type StoredStockResult = Static<typeof StoredStockResult>

/** Body of `GET /api/stocks/{code}`: the newest stored result of a stock, and its recent bars. */
export const StockResultsResponse = Type.Object(
  {
    stock_code: Identifier,
    task_id: Identifier,
    result: StoredStockResult,
    snapshots: Type.Array(MarketSnapshotEvent, {
      description:
        "The stock's recent market.snapshot events still in its channel history, one per trade date, oldest first",
    }),
  },
  {
    $id: 'StockResultsResponse',
    description: 'The newest task that computed the stock, its stored result, and recent bars',
  },
)
export type StockResultsResponse = Static<typeof StockResultsResponse>

/** Body of every refusal of an /api endpoint: a machine-readable code and a sentence. */
export const ApiRefusal = Type.Object(
  {
    error: Type.String({
      description: 'Machine-readable code: "invalid_stock_code", a RunErrorCode, an auth code',
    }),
    reason: Type.String({ description: 'One sentence a person can act on' }),
  },
  { $id: 'ApiRefusal', description: 'Why an /api request was refused' },
)
export type ApiRefusal = Static<typeof ApiRefusal>
