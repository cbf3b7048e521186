import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { COLUMNS, epochDay, isoDate, type StockBars, stockBars } from './bars.js'
import { BarDataError } from './errors.js'

/** The header every bar file starts with. */
export const CSV_HEADER = 'date,open,high,low,close,volume'

const CODE = /^[A-Za-z0-9_.-]{1,64}$/
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
    if (CODE.test(code)) codes.push(code)
    else ignored.push(name)
  }
  return { codes, ignored }
}

/** Reads one stock's file, one file at a time, keeping the bars dated on or before `lastDay`. */
export function createCsvLoader(
  dir: string,
  lastDay: number,
): (code: string) => Promise<StockBars> {
  return async (code) => {
    let text: string
    try {
      text = await readFile(join(dir, `${code}.csv`), 'utf8')
    } catch (error) {
      throw new BarDataError(code, 0, `cannot read: ${(error as Error).message}`)
    }
    return parseCsvBars(code, text, lastDay)
  }
}

/**
 * Parses `date,open,high,low,close,volume` rows. Any corrupt row (wrong column count, a value that
 * is not a finite number, a price <= 0, negative volume, high < low, a date not after the previous
 * one) rejects the whole stock with a BarDataError naming the line. Blank lines are skipped.
 */
export function parseCsvBars(
  code: string,
  text: string,
  lastDay = Number.POSITIVE_INFINITY,
): StockBars {
  const lines = text.replace(/^\uFEFF/, '').split('\n')
  const header = (lines[0] ?? '').trim().replace(/\s*,\s*/g, ',')
  if (header !== CSV_HEADER) {
    throw new BarDataError(
      code,
      1,
      `expected the header ${CSV_HEADER}, got ${JSON.stringify(header)}`,
    )
  }
  const dates: number[] = []
  const values: number[][] = COLUMNS.map(() => [])
  let previous = Number.NEGATIVE_INFINITY
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (line === '') continue
    const lineNo = i + 1
    const fail = (reason: string): never => {
      throw new BarDataError(code, lineNo, reason)
    }
    const cells = line.split(',').map((cell) => cell.trim())
    if (cells.length !== COLUMNS.length + 1) {
      fail(`expected ${COLUMNS.length + 1} columns, got ${cells.length}`)
    }
    const day =
      epochDay(cells[0]!) ?? fail(`date ${JSON.stringify(cells[0])} is not a YYYY-MM-DD date`)
    if (day <= previous) {
      fail(`date ${cells[0]} is not after ${isoDate(previous)}: dates must increase`)
    }
    if (day > lastDay) break
    previous = day
    const row = COLUMNS.map((column, c) => number(cells[c + 1]!, column, fail))
    for (const [c, column] of PRICES.entries()) {
      if (!(row[c]! > 0)) fail(`${column} must be > 0, got ${row[c]}`)
    }
    const [, high, low, , volume] = row as [number, number, number, number, number]
    if (volume < 0) fail(`volume must be >= 0, got ${volume}`)
    if (high < low) fail(`high ${high} is below low ${low}`)
    dates.push(day)
    for (const [c, column] of values.entries()) column.push(row[c]!)
  }
  if (dates.length === 0) throw new BarDataError(code, 0, 'no bars')
  const data = new Float64Array(dates.length * COLUMNS.length)
  for (const [c, column] of values.entries()) data.set(column, c * dates.length)
  return stockBars(code, Int32Array.from(dates), data)
}

function number(cell: string, column: string, fail: (reason: string) => never): number {
  if (cell.toLowerCase() === 'nan') fail(`${column} is NaN`)
  const value = cell === '' ? Number.NaN : Number(cell)
  if (!Number.isFinite(value)) fail(`${column} is not a number: ${JSON.stringify(cell)}`)
  return value
}
