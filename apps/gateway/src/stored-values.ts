import type { BarsTableNames, TableName } from '@stockpulse/config'
import {
  EVENT_VERSION,
  EventValidators,
  type IndicatorValues,
  type MarketSnapshotEvent,
} from '@stockpulse/events'
import pg from 'pg'
import type { Logger } from './logger.js'

/** Longest one query of the stock page may run; the server cancels it after this. */
export const STORED_VALUES_STATEMENT_TIMEOUT_MS = 2_000
/** Most value rows read for one stock and date (the worker writes at most 64 indicators x 3). */
export const MAX_VALUE_ROWS = 1_024
/** Most bars read for a stock's chart. */
export const MAX_BARS = 120

/** The worker's tables (BARS_TABLE, BARS_COLUMNS, VALUES_TABLE), validated and quoted. */
export interface StoredTables {
  readonly bars: BarsTableNames
  readonly values: TableName
}

/** What the stock page gets from PostgreSQL. */
export interface StoredStock {
  /** A `StockResultsResponse` unless the rows break the contract (e.g. a task id that is not an id). */
  readonly body: unknown
  /** Bars that broke the contract (a NULL price, a bad name) and were left out. */
  readonly invalid: number
}

/** Reads what the worker stored for a stock in PostgreSQL (`--sink postgres`). */
export interface StoredValuesReader {
  /**
   * The stock's values of its newest stored trade date and its bars up to that date (each with
   * the values stored for it), or undefined when it has no values. Rejects when PostgreSQL
   * cannot answer (down, a missing table, the statement timeout).
   */
  stock(code: string): Promise<StoredStock | undefined>
  /** The values table as configured, for messages. */
  readonly valuesTable: string
  close(): Promise<void>
}

/**
 * A pool of 2 connections on `url`, reading the worker's values table (as `stockpulse-worker
 * migrate` creates it) and bars table, under the names the worker is configured with: one
 * parameterised, bounded query each, read-only. Only the validated, quoted names are spliced.
 */
export function createStoredValuesReader(
  url: string,
  tables: StoredTables,
  logger: Logger,
): StoredValuesReader {
  const valuesTable = tables.values.sql
  const barsTable = tables.bars.table.sql
  const c = tables.bars.columns
  const pool = new pg.Pool({
    connectionString: url,
    max: 2,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: STORED_VALUES_STATEMENT_TIMEOUT_MS,
    statement_timeout: STORED_VALUES_STATEMENT_TIMEOUT_MS,
    query_timeout: STORED_VALUES_STATEMENT_TIMEOUT_MS * 2,
  })
  pool.on('error', (error) => logger.warn({ err: error.message }, 'postgres connection lost'))

  return {
    async stock(code) {
      const { rows } = await pool.query<ValueRow>(
        `SELECT to_char(trade_date, 'YYYY-MM-DD') AS day, indicator, output, value, task_id,
          computed_at AS at
        FROM ${valuesTable}
        WHERE stock_code = $1
          AND trade_date = (SELECT max(trade_date) FROM ${valuesTable} WHERE stock_code = $1)
        ORDER BY computed_at DESC, indicator, output
        LIMIT $2`,
        [code, MAX_VALUE_ROWS],
      )
      const newest = rows[0]
      if (!newest) return undefined
      const { rows: bars } = await pool.query<BarRow>(
        `SELECT to_char(b.trade_date, 'YYYY-MM-DD') AS day, b.open::float8 AS open,
          b.high::float8 AS high, b.low::float8 AS low, b.close::float8 AS close,
          b.volume::float8 AS volume, v.rows AS "values"
        FROM (SELECT ${c.trade_date}::date AS trade_date, ${c.open} AS open, ${c.high} AS high,
            ${c.low} AS low, ${c.close} AS close, ${c.volume} AS volume
          FROM ${barsTable}
          WHERE ${c.stock_code} = $1 AND ${c.trade_date} <= $2::date
          ORDER BY ${c.trade_date} DESC LIMIT $3) AS b
        LEFT JOIN LATERAL (
          SELECT json_agg(json_build_array(indicator, output, value, task_id)) AS rows
          FROM (SELECT indicator, output, value, task_id FROM ${valuesTable}
            WHERE stock_code = $1 AND trade_date = b.trade_date
            ORDER BY computed_at DESC, indicator, output LIMIT $4) AS r) AS v ON true
        ORDER BY b.trade_date`,
        [code, newest.day, MAX_BARS, MAX_VALUE_ROWS],
      )
      const latest = grouped(rows.map((row) => [row.indicator, row.output, row.value]))
      let invalid = latest.invalid
      const snapshots: MarketSnapshotEvent[] = []
      for (const bar of bars) {
        const stored = Array.isArray(bar.values) ? bar.values : []
        const values = grouped(stored.map((cells) => (Array.isArray(cells) ? cells : [])))
        const taskId = stored.find(Array.isArray)?.[3]
        const snapshot = {
          event_type: 'market.snapshot',
          // No event carried these rows: the time is the trade date's, the version the contract's.
          timestamp: `${bar.day}T00:00:00.000Z`,
          version: EVENT_VERSION,
          ...(typeof taskId === 'string' ? { task_id: taskId } : {}),
          stock_code: code,
          trade_date: bar.day,
          bar: {
            open: bar.open,
            high: bar.high,
            low: bar.low,
            close: bar.close,
            volume: bar.volume,
          },
          indicators: values.values,
        }
        if (values.invalid === 0 && EventValidators['market.snapshot'].Check(snapshot)) {
          snapshots.push(snapshot)
        } else invalid++
      }
      const body = {
        stock_code: code,
        task_id: newest.task_id,
        result: { stock_code: code, trade_date: newest.day, latest: latest.values },
        snapshots,
      }
      return { body, invalid }
    },
    valuesTable: tables.values.text,
    close: () => pool.end(),
  }
}

// ---- Helpers ----

interface ValueRow {
  readonly day: string
  readonly indicator: string
  readonly output: string
  readonly value: number | null
  readonly task_id: string
}

interface BarRow {
  readonly day: string
  readonly open: number | null
  readonly high: number | null
  readonly low: number | null
  readonly close: number | null
  readonly volume: number | null
  /** `[indicator, output, value, task_id]` rows as JSON, or null when the date has none. */
  readonly values: unknown
}

// indicator -> output -> value, grouped in Maps (names come from the database: none can reach a
// prototype); a value that is not a finite number is null ("no value"), a row of another shape
// is counted and left out.
function grouped(rows: readonly (readonly unknown[])[]): {
  values: IndicatorValues
  invalid: number
} {
  const byIndicator = new Map<string, Map<string, number | null>>()
  let invalid = 0
  for (const [indicator, output, value] of rows) {
    if (typeof indicator !== 'string' || typeof output !== 'string') {
      invalid++
      continue
    }
    const outputs = byIndicator.get(indicator) ?? new Map<string, number | null>()
    byIndicator.set(indicator, outputs)
    outputs.set(output, typeof value === 'number' && Number.isFinite(value) ? value : null)
  }
  const values = Object.fromEntries(
    [...byIndicator].map(([id, outputs]) => [id, Object.fromEntries(outputs)]),
  )
  return { values, invalid }
}
