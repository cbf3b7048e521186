import { stat } from 'node:fs/promises'
import { epochDay, type StockBars } from './bars.js'
import { type CsvWindow, createCsvLoader, listCsvStocks, readCsvUniverse } from './csv.js'
import type { CsvDialectOption } from './csv-dialects.js'
import type { DailyBarsReader } from './daily-bars-reader.js'
import { createPackedBarsBuilder, type PackedBars, unpackBars } from './packed-bars.js'
import { createSyntheticLoader, syntheticCodes } from './synthetic.js'

/** Where a job's bars come from; plain data, so a compute thread can rebuild the loader. */
export type SourceSpec =
  | {
      readonly kind: 'synthetic'
      readonly stocks: number
      readonly days: number
      readonly seed: number
      readonly date: string
    }
  | {
      readonly kind: 'csv'
      /** A directory of `<code>.csv` files (read on the compute threads), or one long file. */
      readonly path: string
      /** Keep only the first `stocks` codes; all when undefined. */
      readonly stocks: number | undefined
      /** The last `days` bars up to `date`. */
      readonly days: number
      readonly date: string
      readonly dialect: CsvDialectOption
    }
  | {
      /** The bars table (see daily-bars-reader.ts); the connection is the job's. */
      readonly kind: 'postgres'
      readonly stocks: number | undefined
      readonly days: number
      readonly date: string
    }
  | {
      /** For the compute threads: the bars come with each chunk (`ChunkSpec.bars`). */
      readonly kind: 'preloaded'
    }

/** A chunk as the loader sees it: its first position, and the bars handed with it. */
export interface LoaderChunk {
  readonly start: number
  readonly bars?: PackedBars
}

/** The sources a job can name (`preloaded` is what the compute threads see of some of them). */
export type JobSource = Exclude<SourceSpec, { readonly kind: 'preloaded' }>

/** Loads one stock's bars, given its code, its position in the universe and its chunk. */
export type BarLoader = (
  code: string,
  index: number,
  chunk: LoaderChunk,
) => StockBars | Promise<StockBars>

/** What the main thread knows of a job's stocks before computing. */
export interface Universe {
  /** In job order. */
  readonly codes: readonly string[]
  /** Files or codes passed over (not a valid stock code). */
  readonly ignored: readonly string[]
  /** What the compute threads load from: the source itself, or `preloaded`. */
  readonly engineSource: SourceSpec
  /**
   * Sources read on the main thread: starts reading the bars of consecutive runs of `sizes[k]`
   * stocks (the chunks), one pack per run, each resolved as soon as it is complete.
   */
  readonly load?: (sizes: readonly number[], signal?: AbortSignal) => Promise<PackedBars>[]
}

/** Where the main thread reads from, for the sources that need it. */
export interface SourceContext {
  readonly bars?: DailyBarsReader
}

/** The stocks of a job, and how their bars reach the compute threads. */
export async function openUniverse(
  spec: JobSource,
  context: SourceContext = {},
): Promise<Universe> {
  if (spec.kind === 'synthetic') {
    return { codes: syntheticCodes(spec.stocks), ignored: [], engineSource: spec }
  }
  if (spec.kind === 'postgres') {
    if (!context.bars) throw new RangeError('the postgres source needs a database connection')
    return context.bars.open(spec)
  }
  if ((await stat(spec.path)).isDirectory()) {
    const { codes, ignored } = await listCsvStocks(spec.path)
    const kept = spec.stocks === undefined ? codes : codes.slice(0, spec.stocks)
    return { codes: kept, ignored, engineSource: spec }
  }
  const file = await readCsvUniverse(spec.path, csvWindow(spec), spec.stocks)
  return {
    codes: file.codes,
    ignored: file.ignored,
    engineSource: { kind: 'preloaded' },
    load(sizes) {
      let next = 0
      return sizes.map((size) => {
        const from = next
        next += size
        return Promise.resolve(packStocks(size, spec.days, (i) => file.bars(from + i)))
      })
    },
  }
}

/** Packs `size` stocks, stock i's bars (or why it has none) from `bars(i)`. */
export function packStocks(
  size: number,
  days: number,
  bars: (i: number) => StockBars | string,
): PackedBars {
  const pack = createPackedBarsBuilder(size, size * Math.min(days, 1024))
  for (let i = 0; i < size; i++) {
    const stock = bars(i)
    if (typeof stock === 'string') pack.fail(stock)
    else pack.add(stock.dates, stock.data)
  }
  return pack.finish()
}

/** The loader of a source, as a compute thread builds it. */
export function createBarLoader(spec: SourceSpec): BarLoader {
  if (spec.kind === 'synthetic') return createSyntheticLoader(spec)
  if (spec.kind === 'preloaded') {
    return (code, index, chunk) => {
      if (!chunk.bars) throw new RangeError(`chunk at ${chunk.start} came without its bars`)
      return unpackBars(chunk.bars, index - chunk.start, code)
    }
  }
  if (spec.kind === 'postgres') throw new RangeError('postgres bars are read on the main thread')
  return createCsvLoader(spec.path, csvWindow(spec))
}

/** The bars a csv source keeps: up to its date, its last `days`, read in its dialect. */
export function csvWindow(spec: Extract<SourceSpec, { kind: 'csv' }>): CsvWindow {
  const lastDay = epochDay(spec.date)
  if (lastDay === undefined) throw new RangeError(`not a date: ${spec.date}`)
  return { lastDay, days: spec.days, dialect: spec.dialect }
}
