/** Column order inside `StockBars.data`. */
export const COLUMNS = ['open', 'high', 'low', 'close', 'volume'] as const

/**
 * One stock's daily bars, oldest first. The five columns share one Float64Array (`data`, column
 * after column), so the fingerprint hashes one buffer; `open`...`volume` are views into it.
 */
export interface StockBars {
  readonly code: string
  /** Trade dates as days since 1970-01-01. */
  readonly dates: Int32Array
  readonly data: Float64Array
  readonly open: Float64Array
  readonly high: Float64Array
  readonly low: Float64Array
  readonly close: Float64Array
  readonly volume: Float64Array
}

/** Wraps `dates` and a 5 x n column buffer as StockBars. */
export function stockBars(code: string, dates: Int32Array, data: Float64Array): StockBars {
  const n = dates.length
  if (data.length !== n * COLUMNS.length) {
    throw new RangeError(`bars of ${code}: ${data.length} values for ${n} dates`)
  }
  const column = (i: number) => data.subarray(i * n, (i + 1) * n)
  return {
    code,
    dates,
    data,
    open: column(0),
    high: column(1),
    low: column(2),
    close: column(3),
    volume: column(4),
  }
}

const MS_PER_DAY = 86_400_000
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/

/** Days since 1970-01-01 of a `YYYY-MM-DD` date, or undefined when it is not a real date. */
export function epochDay(date: string): number | undefined {
  const match = DATE.exec(date)
  if (!match) return undefined
  const [, year, month, day] = match.map(Number) as [number, number, number, number]
  // Not Date.UTC: it reads years 0 to 99 as 1900 to 1999.
  const ms = new Date(0).setUTCFullYear(year, month - 1, day)
  const check = new Date(ms)
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return undefined
  return ms / MS_PER_DAY
}

/** `YYYY-MM-DD` of a day number. */
export function isoDate(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10)
}

/** 0 = Sunday ... 6 = Saturday. */
export function weekday(day: number): number {
  return (((day + 4) % 7) + 7) % 7
}

/** Hands out views of large shared buffers: thousands of small bar arrays, a few allocations. */
export interface Slab {
  float64(length: number): Float64Array
  int32(length: number): Int32Array
}

/** A slab that allocates `blockLength` elements at a time (more for a larger request). */
export function createSlab(blockLength = 1 << 19): Slab {
  const carve = <T extends Float64Array | Int32Array>(create: (length: number) => T) => {
    let block = create(0)
    let used = 0
    return (length: number): T => {
      if (used + length > block.length) {
        block = create(Math.max(length, blockLength))
        used = 0
      }
      used += length
      return block.subarray(used - length, used) as T
    }
  }
  return {
    float64: carve((length) => new Float64Array(length)),
    int32: carve((length) => new Int32Array(length)),
  }
}
