import { epochDay, type StockBars } from './bars.js'
import { createCsvLoader, listCsvStocks } from './csv.js'
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
      readonly dir: string
      /** Keep only the first `stocks` files (by code); all when undefined. */
      readonly stocks: number | undefined
      readonly date: string
    }

/** Loads one stock's bars, given its code and its position in the universe. */
export type BarLoader = (code: string, index: number) => StockBars | Promise<StockBars>

/** The stock codes of the universe, in job order, and the files passed over (csv). */
export async function listStocks(
  spec: SourceSpec,
): Promise<{ readonly codes: string[]; readonly ignored: string[] }> {
  if (spec.kind === 'synthetic') return { codes: syntheticCodes(spec.stocks), ignored: [] }
  const { codes, ignored } = await listCsvStocks(spec.dir)
  return { codes: spec.stocks === undefined ? codes : codes.slice(0, spec.stocks), ignored }
}

/** The loader of a source. */
export function createBarLoader(spec: SourceSpec): BarLoader {
  if (spec.kind === 'synthetic') return createSyntheticLoader(spec)
  const lastDay = epochDay(spec.date)
  if (lastDay === undefined) throw new RangeError(`not a date: ${spec.date}`)
  return createCsvLoader(spec.dir, lastDay)
}
