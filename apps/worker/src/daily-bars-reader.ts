import type { BarsTableNames } from '@stockpulse/config'
import { isIdentifier } from '@stockpulse/events/identifier'
import { COLUMNS, epochDay, isoDate } from './bars.js'
import { type CopyRow, createCopyBinaryParser } from './copy-binary.js'
import { copyOut } from './copy-out.js'
import type { Database } from './database.js'
import { MAX_STOCKS } from './limits.js'
import { missingTable } from './migrate.js'
import { createPackedBarsBuilder, type PackedBars, type PackedBarsBuilder } from './packed-bars.js'
import type { SourceSpec, Universe } from './source.js'

type PostgresSpec = Extract<SourceSpec, { kind: 'postgres' }>

/** Reads a job's universe and bars from the bars table. */
export interface DailyBarsReader {
  /** The universe (one query); its bars stream on `load` (one COPY for all stocks). */
  open(spec: PostgresSpec): Promise<Universe>
  /**
   * The bars of some stocks (a queued run's chunk) in one pack, by the same COPY: a code the
   * table lacks is a failed stock of the pack, as a code without bars up to the date is.
   */
  read(codes: readonly string[], spec: PostgresSpec): Promise<PackedBars>
}

// PostgreSQL dates count days from 2000-01-01.
const PG_EPOCH_DAY = 10_957
const WIDTH = COLUMNS.length

/**
 * The universe: the table's distinct codes in code point order (the first `stocks`, at most
 * MAX_STOCKS), without those that cannot be a stock code. A stock's history: its last `days`
 * bars up to `date`, read for every stock by one `COPY (SELECT ...) TO STDOUT (FORMAT binary)`
 * parsed straight into each chunk's packed buffers.
 */
export function createDailyBarsReader(database: Database, names: BarsTableNames): DailyBarsReader {
  const { table, columns: c } = names
  return {
    async open(spec) {
      const lastDay = epochDay(spec.date)
      if (lastDay === undefined) throw new RangeError(`not a date: ${spec.date}`)
      await missingTable(database, table, 'the bars')
      // At most MAX_STOCKS stocks: a table of more codes cannot make the job hold more bars.
      const limit = spec.stocks ?? MAX_STOCKS
      const codes: string[] = []
      const ignored: string[] = []
      for (const code of await listCodes()) {
        if (!isIdentifier(code)) ignored.push(`code ${JSON.stringify(code)}`)
        else if (codes.length < limit) codes.push(code)
      }
      return {
        codes,
        ignored,
        engineSource: { kind: 'preloaded' },
        load: (sizes, signal) => streamBars(codes, sizes, spec, signal),
      }
    },
    read: (codes, spec) => streamBars(codes, [codes.length], spec, undefined)[0]!,
  }

  // The table's distinct codes, sorted by code unit (as the csv source sorts its files): a loose
  // index scan, one probe per code, when an index starts with the code column (the default
  // primary key does), else one DISTINCT over the whole table (three times slower at 5,000 x 250).
  async function listCodes(): Promise<string[]> {
    const { rows: probe } = await database.query<{ indexed: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_index AS i
        JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = to_regclass($1) AND a.attname = $2) AS indexed`,
      [table.sql, names.columnNames.stock_code],
    )
    const code = c.stock_code
    const query = probe[0]?.indexed
      ? `WITH RECURSIVE codes(code) AS (
          (SELECT ${code} FROM ${table.sql} WHERE ${code} IS NOT NULL ORDER BY 1 LIMIT 1)
          UNION ALL
          SELECT (SELECT ${code} FROM ${table.sql} WHERE ${code} > codes.code ORDER BY 1 LIMIT 1)
          FROM codes WHERE codes.code IS NOT NULL)
        SELECT code::text AS code FROM codes WHERE code IS NOT NULL`
      : `SELECT DISTINCT ${code}::text AS code FROM ${table.sql} WHERE ${code} IS NOT NULL`
    const { rows } = await database.query<{ code: string }>(query)
    return rows.map((row) => row.code).sort()
  }

  function streamBars(
    codes: readonly string[],
    sizes: readonly number[],
    spec: PostgresSpec,
    signal: AbortSignal | undefined,
  ): Promise<PackedBars>[] {
    const settlers = sizes.map(() => {
      let settle!: { resolve(pack: PackedBars): void; reject(error: Error): void }
      const promise = new Promise<PackedBars>((resolve, reject) => {
        settle = { resolve, reject }
      })
      promise.catch(() => {})
      return { promise, ...settle }
    })
    const packs = createPackStream(codes, sizes, spec, table.text, (k, pack) =>
      settlers[k]!.resolve(pack),
    )
    const copy = `COPY (SELECT u.n::int4, b.d, b.o, b.h, b.l, b.c, b.v
      FROM unnest(string_to_array(current_setting('stockpulse.codes'), E'\\n')) WITH ORDINALITY AS u(code, n)
      LEFT JOIN LATERAL (
        SELECT ${c.trade_date}::date AS d, ${c.open}::float8 AS o, ${c.high}::float8 AS h,
          ${c.low}::float8 AS l, ${c.close}::float8 AS c, ${c.volume}::float8 AS v
        FROM ${table.sql}
        WHERE ${c.stock_code} = u.code AND ${c.trade_date} <= current_setting('stockpulse.date')::date
        ORDER BY ${c.trade_date} DESC
        LIMIT current_setting('stockpulse.days')::int) AS b ON true) TO STDOUT (FORMAT binary)`
    const run = (async () => {
      const client = await database.connect()
      // Cancelling closes the connection: the server stops the query, the stream errors.
      let released = false
      const release = (destroy: boolean) => {
        if (released) return
        released = true
        client.release(destroy)
      }
      const abort = () => release(true)
      signal?.addEventListener('abort', abort, { once: true })
      try {
        await client.query('BEGIN READ ONLY')
        // The plan: one backward index scan per stock, in universe order (no parallel workers,
        // no bitmap scans and sorts, no JIT compilation for a query that runs once).
        await client.query(
          `SELECT set_config('stockpulse.codes', $1, true), set_config('stockpulse.date', $2, true),
            set_config('stockpulse.days', $3, true), set_config('jit', 'off', true),
            set_config('enable_bitmapscan', 'off', true),
            set_config('max_parallel_workers_per_gather', '0', true)`,
          [codes.join('\n'), spec.date, String(spec.days)],
        )
        const parser = createCopyBinaryParser(7, packs.row)
        await copyOut(client, copy, (data) => parser.push(data))
        parser.end()
        packs.end()
        await client.query('COMMIT')
        release(false)
      } catch (error) {
        release(true)
        throw error
      } finally {
        signal?.removeEventListener('abort', abort)
      }
    })()
    run.catch((error: unknown) => {
      for (const settler of settlers) settler.reject(error as Error)
    })
    return settlers.map((settler) => settler.promise)
  }
}

// ---- Rows to packs ----

interface PackStream {
  row(row: CopyRow): void
  end(): void
}

/**
 * Collects the rows of one stock at a time (universe order, any date order), checks them, and
 * packs them into the current chunk; `done(k, pack)` fires as each chunk fills.
 */
function createPackStream(
  codes: readonly string[],
  sizes: readonly number[],
  spec: PostgresSpec,
  label: string,
  done: (chunk: number, pack: PackedBars) => void,
): PackStream {
  const days = spec.days
  const rowDates = new Int32Array(days)
  const rowValues = new Float64Array(days * WIDTH)
  const sortedDates = new Int32Array(days)
  const columns = new Float64Array(days * WIDTH)
  let stock = -1
  let rows = 0
  let error: { day: number; reason: string } | undefined
  let empty = false
  let chunk = 0
  let pack: PackedBarsBuilder | undefined = sizes.length > 0 ? builder(0) : undefined

  function builder(k: number): PackedBarsBuilder {
    // A hint, not a cap (the builder grows): `days` is what was asked, not what the table holds.
    return createPackedBarsBuilder(sizes[k]!, sizes[k]! * Math.min(days, 1024))
  }

  function flush(): void {
    if (stock < 0) return
    const code = codes[stock]!
    const current = pack!
    if (empty) current.fail(`${label} ${code}: no bars on or before ${spec.date}`)
    else if (error) current.fail(`${label} ${code} ${isoDate(error.day)}: ${error.reason}`)
    else packRows(current, code)
    if (current.count === sizes[chunk]) {
      done(chunk, current.finish())
      chunk++
      pack = chunk < sizes.length ? builder(chunk) : undefined
    }
    rows = 0
    error = undefined
    empty = false
  }

  function packRows(current: PackedBarsBuilder, code: string): void {
    // The query gives each stock's bars newest first; any other order is sorted.
    let newestFirst = true
    for (let r = 1; r < rows && newestFirst; r++) newestFirst = rowDates[r - 1]! > rowDates[r]!
    const order = newestFirst
      ? undefined
      : Array.from({ length: rows }, (_, r) => r).sort((a, b) => rowDates[a]! - rowDates[b]!)
    for (let r = 0; r < rows; r++) {
      const from = order ? order[r]! : rows - 1 - r
      const day = rowDates[from]!
      if (r > 0 && day === sortedDates[r - 1]) {
        current.fail(`${label} ${code} ${isoDate(day)}: the date appears twice`)
        return
      }
      sortedDates[r] = day
      for (let k = 0; k < WIDTH; k++) columns[k * rows + r] = rowValues[from * WIDTH + k]!
    }
    current.add(sortedDates.subarray(0, rows), columns.subarray(0, rows * WIDTH))
  }

  // Records why the row of `day` is corrupt (column k, or -1 for high < low), keeping the oldest.
  function refuse(day: number, k: number, isNull: boolean): void {
    const value = rowValues[(rows - 1) * WIDTH + k]!
    const reason = isNull
      ? `${COLUMNS[k]} is NULL`
      : k === -1
        ? `high ${rowValues[(rows - 1) * WIDTH + 1]} is below low ${rowValues[(rows - 1) * WIDTH + 2]}`
        : !Number.isFinite(value)
          ? `${COLUMNS[k]} is ${value}`
          : k < 4
            ? `${COLUMNS[k]} must be > 0, got ${value}`
            : value < 0
              ? `volume must be >= 0, got ${value}`
              : undefined
    if (reason !== undefined && (!error || day < error.day)) error = { day, reason }
  }

  return {
    row({ view, start, length }) {
      const n = view.getInt32(start[0]!) - 1
      if (n !== stock) {
        if (n !== stock + 1) throw new Error(`bars arrived out of universe order (stock ${n + 1})`)
        flush()
        stock = n
      }
      if (length[1] === -1) {
        empty = true
        return
      }
      if (rows === days) throw new Error(`more than ${days} bars for ${codes[stock]}`)
      const day = view.getInt32(start[1]!) + PG_EPOCH_DAY
      rowDates[rows] = day
      const at = rows * WIDTH
      rows++
      // Messages are built apart (`refuse`): a template string in this loop makes it 5x slower.
      for (let k = 0; k < WIDTH; k++) {
        const value = length[k + 2] === -1 ? Number.NaN : view.getFloat64(start[k + 2]!)
        rowValues[at + k] = value
        if (!(value > 0 && value < Number.POSITIVE_INFINITY)) refuse(day, k, length[k + 2] === -1)
      }
      if (rowValues[at + 1]! < rowValues[at + 2]!) refuse(day, -1, false)
    },
    end() {
      flush()
      if (stock !== codes.length - 1 || pack !== undefined) {
        throw new Error(`the bars stream ended at stock ${stock + 1} of ${codes.length}`)
      }
    },
  }
}
