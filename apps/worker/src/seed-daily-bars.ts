import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { BarsTableNames } from '@stockpulse/config'
import { from as copyFrom } from 'pg-copy-streams'
import { isoDate } from './bars.js'
import { type Database, inTransaction } from './database.js'
import { missingTable } from './migrate.js'
import { createSyntheticLoader, type SyntheticSpec, syntheticCodes } from './synthetic.js'

/** What `stockpulse-worker seed-db` writes: a synthetic universe. */
export interface SeedSpec extends SyntheticSpec {
  readonly stocks: number
}

/**
 * Replaces the bars of the synthetic universe's codes in the bars table with the synthetic
 * source's (same seed, same bars, the planted failures included), in one transaction: one DELETE
 * of those codes, then one `COPY ... FROM STDIN`. Returns the rows written.
 */
export async function seedDailyBars(
  database: Database,
  names: BarsTableNames,
  spec: SeedSpec,
): Promise<number> {
  const { table, columns: c } = names
  await missingTable(database, table, 'the bars')
  const codes = syntheticCodes(spec.stocks)
  const load = createSyntheticLoader(spec)
  const days = new Map<number, string>()
  let rows = 0
  function* text(): Generator<string> {
    for (const [index, code] of codes.entries()) {
      const bars = load(code, index)
      let lines = ''
      for (let r = 0; r < bars.dates.length; r++) {
        const day = bars.dates[r]!
        let date = days.get(day)
        if (date === undefined) {
          date = isoDate(day)
          days.set(day, date)
        }
        lines += `${code}\t${date}\t${bars.open[r]}\t${bars.high[r]}\t${bars.low[r]}\t${bars.close[r]}\t${bars.volume[r]}\n`
      }
      rows += bars.dates.length
      yield lines
    }
  }
  await inTransaction(database, '', async (tx) => {
    await tx.query(`DELETE FROM ${table.sql} WHERE ${c.stock_code} = ANY($1::text[])`, [codes])
    const copy = tx.query(
      copyFrom(
        `COPY ${table.sql} (${c.stock_code}, ${c.trade_date}, ${c.open}, ${c.high}, ${c.low}, ${c.close}, ${c.volume}) FROM STDIN`,
      ),
    )
    await pipeline(Readable.from(text()), copy)
  })
  return rows
}
