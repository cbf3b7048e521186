import { epochDay } from './bars.js'

/** `--csv-dialect` values: `auto` reads each file's header. */
export const CSV_DIALECTS = ['auto', 'stockpulse', 'tushare', 'akshare', 'yahoo', 'long'] as const
export type CsvDialectOption = (typeof CSV_DIALECTS)[number]
export type CsvDialectName = Exclude<CsvDialectOption, 'auto'>

/** Our own header: one file per stock, oldest first. */
export const CSV_HEADER = 'date,open,high,low,close,volume'

const FIELDS = ['date', 'open', 'high', 'low', 'close', 'volume'] as const
type Field = (typeof FIELDS)[number]

interface Dialect {
  /** Accepted header names (lower case) of each field, and of the stock code column. */
  readonly names: Readonly<Record<Field, readonly string[]>>
  readonly code?: readonly string[]
  readonly dateFormat: 'YYYY-MM-DD' | 'YYYYMMDD'
  /** Volume in lots of 100 shares (手), as tushare and akshare give it; stored in shares. */
  readonly volumeInLots: boolean
  /** Yahoo writes `null` in every column of a day without trading: such rows are skipped. */
  readonly skipsNullRows: boolean
}

const OURS: Readonly<Record<Field, readonly string[]>> = {
  date: ['date'],
  open: ['open'],
  high: ['high'],
  low: ['low'],
  close: ['close'],
  volume: ['volume'],
}

const DIALECTS: Readonly<Record<CsvDialectName, Dialect>> = {
  stockpulse: { names: OURS, dateFormat: 'YYYY-MM-DD', volumeInLots: false, skipsNullRows: false },
  long: {
    names: { ...OURS, date: ['date', 'trade_date'] },
    code: ['code', 'stock_code'],
    dateFormat: 'YYYY-MM-DD',
    volumeInLots: false,
    skipsNullRows: false,
  },
  tushare: {
    names: { ...OURS, date: ['trade_date'], volume: ['vol'] },
    code: ['ts_code'],
    dateFormat: 'YYYYMMDD',
    volumeInLots: true,
    skipsNullRows: false,
  },
  akshare: {
    names: {
      date: ['日期'],
      open: ['开盘'],
      high: ['最高'],
      low: ['最低'],
      close: ['收盘'],
      volume: ['成交量'],
    },
    code: ['股票代码'],
    dateFormat: 'YYYY-MM-DD',
    volumeInLots: true,
    skipsNullRows: false,
  },
  yahoo: { names: OURS, dateFormat: 'YYYY-MM-DD', volumeInLots: false, skipsNullRows: true },
}

/** Where a dialect's fields sit in one file, found from its header. */
export interface CsvLayout {
  readonly dialect: CsvDialectName
  /** Cells every row must have. */
  readonly width: number
  /** Column of date, open, high, low, close, volume. */
  readonly columns: readonly number[]
  /** Column of the stock code, when the dialect has one. */
  readonly code?: number
  readonly dateFormat: Dialect['dateFormat']
  readonly volumeScale: number
  readonly skipsNullRows: boolean
}

/** The fields, in `CsvLayout.columns` order. */
export const CSV_FIELDS = FIELDS

/**
 * Reads a header line into a layout: the named dialect, or (auto) the one the header shows.
 * Returns the reason when the header does not fit.
 */
export function csvLayout(header: string, option: CsvDialectOption): CsvLayout | string {
  const cells = splitCsvLine(header).map((cell) => cell.toLowerCase())
  const name = option === 'auto' ? detect(cells) : option
  if (name === undefined) {
    return `unknown header ${JSON.stringify(header)}: expected ${CSV_HEADER}, or a tushare, akshare, Yahoo or long (code column) header; see --csv-dialect`
  }
  const dialect = DIALECTS[name]
  const columns: number[] = []
  for (const field of FIELDS) {
    const at = find(cells, dialect.names[field])
    if (at < 0) {
      return `the ${name} header needs a ${dialect.names[field].join(' or ')} column, got ${JSON.stringify(header)}`
    }
    columns.push(at)
  }
  const code = dialect.code ? find(cells, dialect.code) : -1
  if (dialect.code && code < 0) {
    return `the ${name} header needs a ${dialect.code.join(' or ')} column, got ${JSON.stringify(header)}`
  }
  return {
    dialect: name,
    width: cells.length,
    columns,
    ...(code >= 0 ? { code } : {}),
    dateFormat: dialect.dateFormat,
    volumeScale: dialect.volumeInLots ? 100 : 1,
    skipsNullRows: dialect.skipsNullRows,
  }
}

/** Day number of a date cell in the layout's format, or undefined. */
export function csvDay(cell: string, format: CsvLayout['dateFormat']): number | undefined {
  if (format === 'YYYY-MM-DD') return epochDay(cell)
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(cell)
  return match ? epochDay(`${match[1]}-${match[2]}-${match[3]}`) : undefined
}

/** The cells of a line: split at commas, trimmed, one pair of surrounding double quotes removed. */
export function splitCsvLine(line: string): string[] {
  return line.split(',').map((cell) => {
    const trimmed = cell.trim()
    return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')
      ? trimmed.slice(1, -1).trim()
      : trimmed
  })
}

// ---- Helpers ----

function detect(cells: readonly string[]): CsvDialectName | undefined {
  const has = (name: string) => cells.includes(name)
  if (has('ts_code') && has('trade_date')) return 'tushare'
  if (has('日期') && has('开盘')) return 'akshare'
  if (has('adj close')) return 'yahoo'
  if (has('code') || has('stock_code')) return 'long'
  return cells.join(',') === CSV_HEADER ? 'stockpulse' : undefined
}

function find(cells: readonly string[], names: readonly string[]): number {
  for (const name of names) {
    const at = cells.indexOf(name)
    if (at >= 0) return at
  }
  return -1
}
