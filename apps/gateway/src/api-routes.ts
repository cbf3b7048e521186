import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  ApiValidators,
  type MarketSnapshotEvent,
  parseChannel,
  parseEvent,
  Scope,
  type SessionResponse,
  type StockResultsResponse,
} from '@stockpulse/events'
import type { Authenticator } from './auth.js'
import { HistoryUnavailableError } from './errors.js'
import type { History } from './history.js'
import type { Logger } from './logger.js'
import { json } from './replies.js'
import { STORED_VALUES_STATEMENT_TIMEOUT_MS, type StoredValuesReader } from './stored-values.js'

export interface ApiRoutesOptions {
  /** Where stored results are read; undefined (the bus, memory mode) has none. */
  readonly history: History | undefined
  /**
   * PostgreSQL's values and bars tables (DATABASE_URL): when set, stocks are read there as well
   * as in Redis, and the newer trade date is served.
   */
  readonly storedValues?: StoredValuesReader
  /** Counts reads PostgreSQL did not answer. */
  readonly databaseFailed: () => void
  readonly authenticator: Authenticator
  /** Counts stored texts dropped for breaking the contract (`invalid_history`). */
  readonly invalidStored: (count: number) => void
  readonly logger: Logger
}

/** Handles `GET /api/session` and `GET /api/stocks/...`; both need a valid token when auth is on. */
export type ApiRoutes = (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void>

/** Most `market.snapshot` entries read for a stock's recent bars. */
const MAX_SNAPSHOTS = 120

/**
 * The dashboard's JSON endpoints: `GET /api/session` (who asks, which scopes, redis or memory
 * mode) and `GET /api/stocks/{code}` (the newest stored result of a stock, and its recent bars).
 * Refusals are `{ "error": "<code>", "reason": "<sentence>" }`.
 */
export function createApiRoutes(options: ApiRoutesOptions): ApiRoutes {
  const { history, storedValues, authenticator, invalidStored, logger } = options
  return async (req, res, path) => {
    const verdict = await authenticator.authorize(req)
    if (!verdict.ok) {
      if (verdict.status === 401) res.setHeader('www-authenticate', 'Bearer')
      return refuse(res, verdict.status, 'unauthorized', verdict.reason)
    }
    if (path === '/api/session') {
      const session: SessionResponse = {
        auth: authenticator.required,
        user_id: verdict.principal?.userId ?? null,
        scopes: authenticator.required
          ? [...(verdict.principal?.scopes ?? [])]
          : Object.values(Scope),
        mode: history ? 'redis' : 'memory',
      }
      return json(res, 200, session)
    }
    return stock(res, path.slice('/api/stocks/'.length))
  }

  async function stock(res: ServerResponse, raw: string): Promise<void> {
    const code = decoded(raw)
    if (code === undefined || !parseChannel(`events:market:${code}`).ok) {
      return refuse(
        res,
        400,
        'invalid_stock_code',
        'A stock code is 1-64 characters of A-Z a-z 0-9 _ . -',
      )
    }
    if (!storedValues && !history) {
      return refuse(
        res,
        503,
        'needs_redis',
        'Stored results need Redis: this gateway runs in memory mode (the one-process demo).',
      )
    }
    // Both stores when both are there: a run without --sink postgres leaves its results only in
    // Redis, and Redis lets them expire while PostgreSQL keeps older dates.
    const settled = await Promise.allSettled([
      storedValues ? fromDatabase(code, storedValues) : undefined,
      history ? fromRedis(code, history) : undefined,
    ])
    const lookups: Lookup[] = []
    let failure: { reason: unknown } | undefined
    for (const outcome of settled) {
      if (outcome.status === 'rejected') failure ??= outcome
      else if (outcome.value) lookups.push(outcome.value)
    }
    const found = lookups.flatMap((lookup) => (lookup.kind === 'found' ? [lookup.body] : []))
    if (found.length > 0) {
      // One store's bug does not cost the stock the other store holds.
      if (failure) logger.error({ err: String(failure.reason) }, 'a stock lookup failed')
      return json(res, 200, newest(found))
    }
    if (failure) throw failure.reason
    for (const lookup of lookups) {
      if (lookup.kind === 'refused') return refuse(res, lookup.status, lookup.error, lookup.reason)
    }
    const reasons = lookups.map((lookup) => (lookup.kind === 'missing' ? lookup.reason : ''))
    return refuse(res, 404, 'stock_not_found', reasons.join(' '))
  }

  async function fromRedis(code: string, history: History): Promise<Lookup> {
    let stored: Awaited<ReturnType<History['stock']>>
    try {
      stored = await history.stock(code, MAX_SNAPSHOTS)
    } catch (error) {
      if (!(error instanceof HistoryUnavailableError)) throw error
      return refused(503, 'redis_unavailable', 'Stored results cannot be read: Redis is down.')
    }
    if (!stored) {
      return {
        kind: 'missing',
        reason: `No running task or stored run holds a result for ${code} (results expire after the worker's WORKER_RESULT_TTL_S).`,
      }
    }
    let result: unknown
    try {
      result = JSON.parse(stored.result)
    } catch {}
    if (!ApiValidators.storedStockResult.Check(result) || result.stock_code !== code) {
      invalidStored(1)
      logger.warn({ task_id: stored.taskId, stock_code: code }, 'dropped an invalid stored result')
      return refused(
        502,
        'invalid_result',
        `The stored result of ${code} in ${stored.taskId} breaks the contract.`,
      )
    }
    const snapshots = snapshotsOf(code, stored.snapshots)
    if (snapshots.invalid > 0) invalidStored(snapshots.invalid)
    return {
      kind: 'found',
      body: { stock_code: code, task_id: stored.taskId, result, snapshots: snapshots.events },
    }
  }

  async function fromDatabase(code: string, reader: StoredValuesReader): Promise<Lookup> {
    let stored: Awaited<ReturnType<StoredValuesReader['stock']>>
    try {
      stored = await reader.stock(code)
    } catch (error) {
      options.databaseFailed()
      const { message, code: sqlState } = error as { message?: string; code?: unknown }
      const mismatch =
        typeof sqlState === 'string' && sqlState !== UNDEFINED_TABLE && sqlState.startsWith('42')
      // A mismatch is a configuration error, not a passing outage.
      logger[mismatch ? 'error' : 'warn'](
        { stock_code: code, err: message, code: sqlState },
        'stored values not read',
      )
      const reason =
        sqlState === UNDEFINED_TABLE
          ? 'Stored values cannot be read: a table is missing in PostgreSQL (create it with stockpulse-worker migrate).'
          : mismatch
            ? `Stored values cannot be read: the tables do not match VALUES_TABLE, BARS_TABLE and BARS_COLUMNS (PostgreSQL error ${sqlState}).`
            : `Stored values cannot be read: PostgreSQL did not answer within ${STORED_VALUES_STATEMENT_TIMEOUT_MS / 1000} s or is down.`
      return refused(503, 'database_unavailable', reason)
    }
    if (!stored) {
      return {
        kind: 'missing',
        reason: `No values are stored for ${code} in ${reader.valuesTable} (the worker writes them with --sink postgres).`,
      }
    }
    if (stored.invalid > 0) invalidStored(stored.invalid)
    if (!ApiValidators.stockResults.Check(stored.body)) {
      invalidStored(1)
      logger.warn({ stock_code: code }, 'dropped stored values that break the contract')
      return refused(
        502,
        'invalid_result',
        `The values stored for ${code} in PostgreSQL break the contract.`,
      )
    }
    return { kind: 'found', body: stored.body }
  }
}

/** What one store answered for a stock. */
type Lookup =
  | { readonly kind: 'found'; readonly body: StockResultsResponse }
  | { readonly kind: 'missing'; readonly reason: string }
  | {
      readonly kind: 'refused'
      readonly status: number
      readonly error: string
      readonly reason: string
    }

function refused(status: number, error: string, reason: string): Lookup {
  return { kind: 'refused', status, error, reason }
}

/**
 * The answer of the newest trade date (one without a date, a stock that failed as a whole, is
 * the oldest); on a tie the first, PostgreSQL's, whose bars carry the values of every date.
 */
function newest(found: readonly StockResultsResponse[]): StockResultsResponse {
  return found.reduce((best, next) =>
    (next.result.trade_date ?? '') > (best.result.trade_date ?? '') ? next : best,
  )
}

/**
 * PostgreSQL's SQLSTATE of a missing table. The rest of its class 42 is what other wrong names
 * give: a missing column (42703), a date column of another type (42883), a table the gateway
 * may not read (42501).
 */
const UNDEFINED_TABLE = '42P01'

/** The valid snapshots of `code` (JSON, newest first): one per trade date, oldest first. */
function snapshotsOf(
  code: string,
  texts: readonly string[],
): { events: MarketSnapshotEvent[]; invalid: number } {
  const byDate = new Map<string, MarketSnapshotEvent>()
  let invalid = 0
  for (const text of texts) {
    const parsed = parseEvent(text)
    if (!parsed.ok || parsed.value.event_type !== 'market.snapshot') invalid++
    else if (parsed.value.stock_code === code && !byDate.has(parsed.value.trade_date))
      byDate.set(parsed.value.trade_date, parsed.value)
  }
  const events = [...byDate.values()].sort((a, b) => a.trade_date.localeCompare(b.trade_date))
  return { events, invalid }
}

function decoded(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw)
  } catch {
    return undefined
  }
}

function refuse(res: ServerResponse, status: number, error: string, reason: string): void {
  json(res, status, { error, reason })
}
