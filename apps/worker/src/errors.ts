/**
 * A stock's bars are unreadable or corrupt. `location` says where: `000006.csv line 6`,
 * `bars.csv line 12` (a long file), `daily_bars 000006 2025-10-07`, or the file alone.
 */
export class BarDataError extends Error {
  override readonly name = 'BarDataError'
  constructor(
    readonly stockCode: string,
    readonly location: string,
    readonly reason: string,
  ) {
    super(`${location}: ${reason}`)
  }
}

/** A table the worker needs is missing or lacks a column: `stockpulse-worker migrate` creates them. */
export class DatabaseSchemaError extends Error {
  override readonly name = 'DatabaseSchemaError'
  constructor(
    readonly table: string,
    message: string,
  ) {
    super(message)
  }
}
