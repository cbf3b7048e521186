import { COLUMNS, type StockBars, stockBars } from './bars.js'

/**
 * The bars of a run of consecutive stocks, read on the main thread (postgres, a long csv file)
 * and handed to a compute thread with their chunk: three buffers owned by this chunk alone, so
 * they are transferred, not copied. Stock i has the rows `offsets[i]` to `offsets[i + 1]`, oldest
 * first; its five columns (`COLUMNS` order) sit column after column from `data[5 * offsets[i]]`,
 * so its `StockBars` are views, as a loader on the thread would make them.
 */
export interface PackedBars {
  readonly offsets: Int32Array
  readonly dates: Int32Array
  readonly data: Float64Array
  /** Why stock i has no bars (corrupt rows, none at all), '' when it has. */
  readonly errors: readonly string[]
}

/** Stock `i` of a pack as StockBars (views into the pack); throws its error when it has one. */
export function unpackBars(packed: PackedBars, i: number, code: string): StockBars {
  const error = packed.errors[i]
  if (error === undefined) throw new RangeError(`stock ${i} is not in this chunk's bars`)
  if (error !== '') throw new Error(error)
  const from = packed.offsets[i]!
  const to = packed.offsets[i + 1]!
  const width = COLUMNS.length
  return stockBars(
    code,
    packed.dates.subarray(from, to),
    packed.data.subarray(from * width, to * width),
  )
}

/** The buffers to list in `postMessage`'s transfer list. */
export function packedBuffers(packed: PackedBars): ArrayBuffer[] {
  return [packed.offsets.buffer, packed.dates.buffer, packed.data.buffer] as ArrayBuffer[]
}

/** Packs stocks one after the other, in chunk order. */
export interface PackedBarsBuilder {
  /** The next stock: `dates` (n, oldest first) and `data` (5 x n, column after column). */
  add(dates: Int32Array, data: Float64Array): void
  /** The next stock has no bars, for this reason. */
  fail(reason: string): void
  /** Stocks added so far. */
  readonly count: number
  finish(): PackedBars
}

/** A builder for `stocks` stocks, sized for `rowsHint` rows in all (it grows when they are more). */
export function createPackedBarsBuilder(stocks: number, rowsHint: number): PackedBarsBuilder {
  const width = COLUMNS.length
  const offsets = new Int32Array(stocks + 1)
  const errors: string[] = []
  let dates = new Int32Array(Math.max(1, rowsHint))
  let data = new Float64Array(dates.length * width)
  let rows = 0

  const reserve = (more: number) => {
    if (rows + more <= dates.length) return
    const capacity = Math.max(rows + more, dates.length * 2)
    const grownDates = new Int32Array(capacity)
    grownDates.set(dates.subarray(0, rows))
    const grownData = new Float64Array(capacity * width)
    grownData.set(data.subarray(0, rows * width))
    dates = grownDates
    data = grownData
  }
  const next = (reason: string) => {
    if (errors.length === stocks) throw new RangeError(`a pack of ${stocks} stocks is full`)
    errors.push(reason)
    offsets[errors.length] = rows
  }

  return {
    add(stockDates, stockData) {
      const n = stockDates.length
      if (stockData.length !== n * width) {
        throw new RangeError(`${stockData.length} values for ${n} dates`)
      }
      reserve(n)
      dates.set(stockDates, rows)
      data.set(stockData, rows * width)
      rows += n
      next('')
    },
    fail(reason) {
      next(reason || 'no bars')
    },
    get count() {
      return errors.length
    },
    finish() {
      if (errors.length !== stocks) {
        throw new RangeError(`a pack of ${stocks} stocks got ${errors.length}`)
      }
      return { offsets, dates, data, errors }
    },
  }
}
