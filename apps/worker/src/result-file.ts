import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import type { IndicatorValues } from '@stockpulse/events'
import type { Indicator } from '@stockpulse/indicators'

/** One stock's outcome, as stored in Redis and written to `--out`. */
export interface StockResult {
  readonly stock_code: string
  readonly trade_date?: string
  readonly latest: IndicatorValues
  readonly errors?: readonly { readonly indicator?: string; readonly reason: string }[]
}

/** Writes results in stock order to a `.jsonl` (one JSON object a line) or `.csv` file. */
export interface ResultFile {
  write(result: StockResult): void
  close(): Promise<void>
}

/**
 * Opens `path` for writing (rejecting at once when it cannot be created); the format follows
 * its extension (`.jsonl` or `.csv`).
 */
export async function openResultFile(
  path: string,
  indicators: readonly Indicator[],
): Promise<ResultFile> {
  const stream = createWriteStream(path)
  const failed = new Promise<never>((_, reject) => stream.once('error', reject))
  failed.catch(() => {})
  await Promise.race([once(stream, 'open'), failed])
  const csv = path.endsWith('.csv')
  const columns = indicators.flatMap((indicator) =>
    indicator.outputs.map((output) => [indicator.id, output] as const),
  )
  if (csv) {
    const names = columns.map(([id, output]) => `${id}.${output}`)
    stream.write(`${['stock_code', 'trade_date', 'status', ...names, 'errors'].join(',')}\n`)
  }
  return {
    write(result) {
      if (!csv) {
        stream.write(`${JSON.stringify(result)}\n`)
        return
      }
      const values = columns.map(([id, output]) => result.latest[id]?.[output] ?? '')
      const errors = (result.errors ?? []).map((e) =>
        e.indicator ? `${e.indicator}: ${e.reason}` : e.reason,
      )
      const row = [
        result.stock_code,
        result.trade_date ?? '',
        errors.length === 0 ? 'ok' : 'failed',
        ...values,
        quote(errors.join('; ')),
      ]
      stream.write(`${row.join(',')}\n`)
    },
    async close() {
      stream.end()
      await Promise.race([once(stream, 'finish'), failed])
    },
  }
}

function quote(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}
