import type { IndicatorValues } from '@stockpulse/events'
import type { Indicator } from '@stockpulse/indicators'
import type { IndicatorCache } from './cache.js'
import type {
  ChunkSpec,
  ComputedChunk,
  EngineSetup,
  IndicatorLayout,
  PreparedStock,
} from './compute.js'
import type { ComputeExecutor } from './executor.js'

/** One stock, ready to publish. */
export interface StockOutcome {
  readonly prepared: PreparedStock
  readonly latest: IndicatorValues
  readonly succeeded: string[]
  readonly errors: { indicator?: string; reason: string }[]
  /** Indicators that failed: all of them when the stock failed as a whole. */
  readonly failedCount: number
  readonly fromCache: number
  readonly calcMs: number
}

/**
 * Prepares a chunk on the executor, reads its cache entries in one MGET, computes what the
 * cache lacked, writes that back in one EVAL (not awaited), and returns the stocks in order.
 * Without a cache, the executor loads and computes the chunk in one step.
 */
export async function computeChunk(
  setup: EngineSetup,
  chunk: ChunkSpec,
  executor: ComputeExecutor,
  layout: IndicatorLayout,
  cache: IndicatorCache | undefined,
): Promise<StockOutcome[]> {
  if (!cache) {
    const { stocks, computed } = await executor.run(setup, chunk)
    return outcomesOf(stocks, [], computed, layout, undefined)
  }
  const { indicators } = layout
  const count = indicators.length
  const { id, stocks: prepared } = await executor.prepare(setup, chunk)
  const keys: string[] = []
  const keyAt: string[] = []
  for (const [i, stock] of prepared.entries()) {
    if (stock.fingerprint === undefined) continue
    for (const [j, indicator] of indicators.entries()) {
      const key = cache.key(stock.code, indicator, stock.fingerprint)
      keyAt[i * count + j] = key
      keys.push(key)
    }
  }
  const hits = await cache.get(keys)
  const cached: (Record<string, number | null> | undefined)[] = []
  const need = new Uint8Array(prepared.length * count)
  let hit = 0
  for (const [i, stock] of prepared.entries()) {
    if (stock.fingerprint === undefined) continue
    for (const [j, indicator] of indicators.entries()) {
      const values = decode(hits[hit++] ?? null, indicator)
      cached[i * count + j] = values
      if (!values) need[i * count + j] = 1
    }
  }
  const computed = need.includes(1) ? await executor.compute(id, need) : undefined
  if (!computed) executor.release(id)
  return outcomesOf(prepared, cached, computed, layout, cache, keyAt)
}

// The stocks of a chunk in order, from the cache or computed; what was computed goes to the
// cache (one EVAL, not awaited).
function outcomesOf(
  prepared: readonly PreparedStock[],
  cached: readonly (Record<string, number | null> | undefined)[],
  computed: ComputedChunk | undefined,
  layout: IndicatorLayout,
  cache: IndicatorCache | undefined,
  keyAt: readonly string[] = [],
): StockOutcome[] {
  const { indicators, offsets } = layout
  const count = indicators.length
  const failedAt = new Map<number, string>()
  for (const error of computed?.errors ?? [])
    failedAt.set(error.stock * count + error.indicator, error.reason)

  const toCache: [string, string][] = []
  const outcomes = prepared.map((stock, i): StockOutcome => {
    const latest: Record<string, Record<string, number | null>> = {}
    const succeeded: string[] = []
    const errors: { indicator?: string; reason: string }[] = []
    let fromCache = 0
    if (stock.error !== undefined) errors.push({ reason: stock.error })
    else {
      for (const [j, indicator] of indicators.entries()) {
        const at = i * count + j
        const reason = failedAt.get(at)
        if (reason !== undefined) {
          errors.push({ indicator: indicator.id, reason })
          continue
        }
        let values = cached[at]
        if (values) fromCache++
        else {
          values = {}
          let slot = i * layout.slots + offsets[j]!
          for (const output of indicator.outputs) {
            const value = computed!.values[slot++]!
            values[output] = Number.isNaN(value) ? null : value
          }
          if (cache) toCache.push([keyAt[at]!, JSON.stringify(values)])
        }
        latest[indicator.id] = values
        succeeded.push(indicator.id)
      }
    }
    const calcMs = stock.loadMs + (computed?.computeMs[i] ?? 0)
    const failedCount = stock.error === undefined ? errors.length : count
    return { prepared: stock, latest, succeeded, errors, failedCount, fromCache, calcMs }
  })
  cache?.set(toCache)
  return outcomes
}

// ---- Helpers ----

// Cached outputs of one indicator, or undefined when missing or not of the indicator's shape.
function decode(
  text: string | null,
  indicator: Indicator,
): Record<string, number | null> | undefined {
  if (text === null) return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const record = value as Record<string, unknown>
  const ok = indicator.outputs.every((output) => {
    const v = record[output]
    return v === null || typeof v === 'number'
  })
  return ok && Object.keys(record).length === indicator.outputs.length
    ? (record as Record<string, number | null>)
    : undefined
}
