import { readdir, readFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { isIdentifier } from '@stockpulse/events/identifier'
import { COLUMNS, isoDate, type StockBars, stockBars } from './bars.js'
import {
  CSV_FIELDS,
  type CsvDialectOption,
  type CsvLayout,
  csvDay,
  csvLayout,
  splitCsvLine,
} from './csv-dialects.js'
import { BarDataError } from './errors.js'
import { MAX_STOCKS } from './limits.js'

/** Which bars of a file a job keeps, and how to read its header. */
export interface CsvWindow {
  /** Bars dated after this day number are left out. */
  readonly lastDay: number
  /** Then only the last `days` bars are kept. */
  readonly days: number
  readonly dialect: CsvDialectOption
}

const EVERYTHING: CsvWindow = {
  lastDay: Number.POSITIVE_INFINITY,
  days: Number.POSITIVE_INFINITY,
  dialect: 'auto',
}
const PRICES = ['open', 'high', 'low', 'close'] as const

/** The stock files of a directory: `<code>.csv`, sorted by code; other names are returned apart. */
export async function listCsvStocks(
  dir: string,
): Promise<{ readonly codes: string[]; readonly ignored: string[] }> {
  const names = (await readdir(dir)).sort()
  const codes: string[] = []
  const ignored: string[] = []
  for (const name of names) {
    const code = name.endsWith('.csv') ? name.slice(0, -4) : ''
    if (isIdentifier(code)) codes.push(code)
    else ignored.push(name)
  }
  return { codes, ignored }
}

/** Reads one stock's file, one file at a time (on the compute threads). */
export function createCsvLoader(
  dir: string,
  window: CsvWindow,
): (code: string) => Promise<StockBars> {
  return async (code) => {
    let text: string
    try {
      text = await readFile(join(dir, `${code}.csv`), 'utf8')
    } catch (error) {
      throw new BarDataError(code, `${code}.csv`, `cannot read: ${(error as Error).message}`)
    }
    return parseCsvBars(code, text, window)
  }
}

/**
 * Parses the file `<code>.csv` of one stock, in any dialect (see csv-dialects.ts). Rows are
 * sorted by date; a repeated date, a wrong column count or a date that does not parse rejects the
 * stock, and so does, among the bars kept, a value that is not a finite number, a price <= 0,
 * negative volume or high < low: a BarDataError naming the line. Blank lines are skipped.
 */
export function parseCsvBars(
  code: string,
  text: string,
  window: CsvWindow = EVERYTHING,
): StockBars {
  const label = `${code}.csv`
  const lines = csvLines(text)
  const layout = headerLayout(code, label, lines[0] ?? '', window.dialect)
  const rows: number[] = []
  for (let i = 1; i < lines.length; i++) if (lines[i] !== '') rows.push(i)
  return barsOfRows(code, label, layout, lines, rows, window)
}

/** A whole universe in one csv file with a code column: its codes and each stock's bars. */
export interface CsvUniverse {
  /** Sorted; the first `stocks` (at most MAX_STOCKS). */
  readonly codes: string[]
  /** Codes that cannot be a stock code (shown as `code "..."`), left out. */
  readonly ignored: string[]
  /** The bars of `codes[i]`, or why it has none. */
  bars(i: number): StockBars | string
}

/**
 * Reads a long file (tushare, akshare or our columns plus a code column, any row order) on the
 * main thread. Throws a BarDataError when the file cannot be read or its header has no code column.
 */
export async function readCsvUniverse(
  path: string,
  window: CsvWindow,
  stocks: number | undefined,
): Promise<CsvUniverse> {
  const label = basename(path)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new BarDataError('', label, `cannot read: ${(error as Error).message}`)
  }
  const lines = csvLines(text)
  const layout = headerLayout('', label, lines[0] ?? '', window.dialect)
  if (layout.code === undefined) {
    throw new BarDataError(
      '',
      `${label} line 1`,
      `a single file needs a stock code column (code, stock_code, ts_code or 股票代码); with one file per stock, give --data a directory`,
    )
  }
  const byCode = new Map<string, number[]>()
  for (let i = 1; i < lines.length; i++) {
    if (lines[i] === '') continue
    const code = cellAt(lines[i]!, layout.code)
    let rows = byCode.get(code)
    if (!rows) {
      rows = []
      byCode.set(code, rows)
    }
    rows.push(i)
  }
  const all = [...byCode.keys()].sort()
  const valid = all.filter(isIdentifier)
  const codes = valid.slice(0, stocks ?? MAX_STOCKS)
  return {
    codes,
    ignored: all
      .filter((code) => !isIdentifier(code))
      .map((code) => `code ${JSON.stringify(code)}`),
    bars(i) {
      const code = codes[i]!
      try {
        return barsOfRows(code, label, layout, lines, byCode.get(code)!, window)
      } catch (error) {
        return (error as Error).message
      }
    },
  }
}

// ---- Parsing ----

function csvLines(text: string): string[] {
  return text
    .replace(/^\uFEFF/, '')
    .split('\n')
    .map((line) => line.trim())
}

function headerLayout(code: string, label: string, header: string, dialect: CsvDialectOption) {
  const layout = csvLayout(header, dialect)
  if (typeof layout === 'string') throw new BarDataError(code, `${label} line 1`, layout)
  return layout
}

/** The bars of one stock from its rows (line indices into `lines`), sorted, windowed, checked. */
function barsOfRows(
  code: string,
  label: string,
  layout: CsvLayout,
  lines: readonly string[],
  rows: readonly number[],
  window: CsvWindow,
): StockBars {
  const fail = (index: number, reason: string): never => {
    throw new BarDataError(code, `${label} line ${index + 1}`, reason)
  }
  const dated: { day: number; index: number; cells: string[] }[] = []
  for (const index of rows) {
    const cells = splitCsvLine(lines[index]!)
    if (cells.length !== layout.width) {
      fail(index, `expected ${layout.width} columns, got ${cells.length}`)
    }
    if (layout.skipsNullRows && layout.columns.slice(1).every((c) => cells[c] === 'null')) continue
    const text = cells[layout.columns[0]!]!
    const day =
      csvDay(text, layout.dateFormat) ??
      fail(index, `date ${JSON.stringify(text)} is not a ${layout.dateFormat} date`)
    dated.push({ day, index, cells })
  }
  if (dated.length === 0) throw new BarDataError(code, label, 'no bars')
  dated.sort((a, b) => a.day - b.day || a.index - b.index)
  for (let i = 1; i < dated.length; i++) {
    const [before, row] = [dated[i - 1]!, dated[i]!]
    if (row.day === before.day) {
      fail(row.index, `date ${isoDate(row.day)} repeats line ${before.index + 1}`)
    }
  }
  let end = dated.length
  while (end > 0 && dated[end - 1]!.day > window.lastDay) end--
  if (end === 0) {
    throw new BarDataError(code, label, `no bars on or before ${isoDate(window.lastDay)}`)
  }
  const kept = dated.slice(Math.max(0, end - window.days), end)
  const n = kept.length
  const dates = new Int32Array(n)
  const data = new Float64Array(n * COLUMNS.length)
  for (const [r, { day, index, cells }] of kept.entries()) {
    const row = layout.columns
      .slice(1)
      .map((c, k) => number(cells[c]!, CSV_FIELDS[k + 1]!, (reason) => fail(index, reason)))
    for (const [k, column] of PRICES.entries()) {
      if (!(row[k]! > 0)) fail(index, `${column} must be > 0, got ${row[k]}`)
    }
    const [, high, low, , volume] = row as [number, number, number, number, number]
    if (volume < 0) fail(index, `volume must be >= 0, got ${volume}`)
    if (high < low) fail(index, `high ${high} is below low ${low}`)
    dates[r] = day
    for (let k = 0; k < COLUMNS.length; k++) data[k * n + r] = row[k]!
    data[4 * n + r] = volume * layout.volumeScale
  }
  return stockBars(code, dates, data)
}

function number(cell: string, column: string, fail: (reason: string) => never): number {
  if (cell.toLowerCase() === 'nan') fail(`${column} is NaN`)
  const value = cell === '' ? Number.NaN : Number(cell)
  if (!Number.isFinite(value)) fail(`${column} is not a number: ${JSON.stringify(cell)}`)
  return value
}

// The trimmed cell `column` of a line, unquoted, without splitting the whole line.
function cellAt(line: string, column: number): string {
  let start = 0
  for (let c = 0; c < column; c++) {
    const comma = line.indexOf(',', start)
    if (comma < 0) return ''
    start = comma + 1
  }
  const comma = line.indexOf(',', start)
  return splitCsvLine(line.slice(start, comma < 0 ? undefined : comma))[0]!
}
