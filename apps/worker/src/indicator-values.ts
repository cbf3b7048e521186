import { DEFAULT_VALUES_TABLE, type TableName, tableName } from '@stockpulse/config'
import { epochDay } from './bars.js'
import { dateArray, float8Array, textArray } from './binary-arrays.js'
import type { Database } from './database.js'
import { missingTable } from './migrate.js'
import type { StockResult } from './result-file.js'

/** Writes the latest indicator values of a task's stocks into the values table. */
export interface IndicatorValuesWriter {
  /** Rejects with a DatabaseSchemaError naming the migrate command when the table is missing. */
  check(): Promise<void>
  /**
   * Upserts the values of a chunk's stocks (one row per stock, trade date, indicator and
   * output) in one statement, so in one transaction: all of the chunk or nothing. Outputs
   * without a value (`null`) and failed indicators are not written. Resolves to the rows written.
   */
  write(taskId: string, results: readonly StockResult[]): Promise<number>
}

/** The values table (default `indicator_values`, see migrate.ts). */
export function createIndicatorValuesWriter(
  database: Database,
  table: TableName = tableName(DEFAULT_VALUES_TABLE),
): IndicatorValuesWriter {
  const upsert = `INSERT INTO ${table.sql} AS t
      (stock_code, trade_date, indicator, output, value, task_id, computed_at)
    SELECT code, day, indicator, output, value, $6, now()
    FROM unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::float8[])
      AS v(code, day, indicator, output, value)
    ON CONFLICT (stock_code, trade_date, indicator, output) DO UPDATE
      SET value = excluded.value, task_id = excluded.task_id, computed_at = excluded.computed_at`
  return {
    check: () => missingTable(database, table, 'the indicator values'),
    async write(taskId, results) {
      let rows = 0
      for (const result of results) {
        if (result.trade_date === undefined) continue
        for (const latest of Object.values(result.latest)) {
          for (const value of Object.values(latest)) if (value !== null) rows++
        }
      }
      if (rows === 0) return 0
      // Binary arrays: about half the client CPU of text ones, and no text for the server to parse.
      const codes = new Array<string>(rows)
      const days = new Int32Array(rows)
      const indicators = new Array<string>(rows)
      const outputs = new Array<string>(rows)
      const values = new Float64Array(rows)
      let row = 0
      for (const result of results) {
        if (result.trade_date === undefined) continue
        const day = epochDay(result.trade_date)
        if (day === undefined) throw new RangeError(`not a date: ${result.trade_date}`)
        for (const [indicator, latest] of Object.entries(result.latest)) {
          for (const [output, value] of Object.entries(latest)) {
            if (value === null) continue
            codes[row] = result.stock_code
            days[row] = day
            indicators[row] = indicator
            outputs[row] = output
            values[row] = value + 0 // -0 as 0, as the text arrays wrote it
            row++
          }
        }
      }
      await database.query(upsert, [
        textArray(codes),
        dateArray(days),
        textArray(indicators),
        textArray(outputs),
        float8Array(values),
        taskId,
      ])
      return rows
    },
  }
}
