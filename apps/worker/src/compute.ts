import type { Bar } from '@stockpulse/events'
import { type Indicator, type IndicatorValues, resolveIndicators } from '@stockpulse/indicators'
import { isoDate, type StockBars } from './bars.js'
import { fingerprint } from './fingerprint.js'
import type { PackedBars } from './packed-bars.js'
import { createBarLoader, type SourceSpec } from './source.js'

/** Everything a compute engine needs; plain data, sent along with each chunk. */
export interface EngineSetup {
  readonly indicators: readonly string[]
  /** What the engine loads from: `Universe.engineSource`. */
  readonly source: SourceSpec
}

/** A run of consecutive stocks of the universe, computed together. */
export interface ChunkSpec {
  /** Position of the first stock in the universe. */
  readonly start: number
  readonly codes: readonly string[]
  /** The chunk's bars when the main thread read them (source `preloaded`); transferred with it. */
  readonly bars?: PackedBars
}

/** A stock after loading: what the cache key and the snapshot need, or why it failed as a whole. */
export interface PreparedStock {
  readonly code: string
  /** Unreadable or corrupt bars, or too short a history. */
  readonly error?: string
  /** Of the bars, for the cache key; absent when loaded for a run without cache lookups. */
  readonly fingerprint?: string
  readonly tradeDate?: string
  /** The latest bar; absent when it is not a valid bar. */
  readonly bar?: Bar
  readonly loadMs: number
}

/** What a chunk's computation returns, indexed by stock position in the chunk. */
export interface ComputedChunk {
  /** `stocks x slots` latest values; NaN where undefined (lookback), failed or not asked for. */
  readonly values: Float64Array
  readonly errors: readonly { stock: number; indicator: number; reason: string }[]
  /** Time spent computing each stock, loading excluded. */
  readonly computeMs: Float64Array
}

/** The indicators of a job with the layout of their outputs in `ComputedChunk.values`. */
export interface IndicatorLayout {
  readonly indicators: readonly Indicator[]
  /** First slot of each indicator; its outputs follow in `outputs` order. */
  readonly offsets: readonly number[]
  readonly slots: number
  /** Fewest bars giving every indicator at least one value. */
  readonly minBars: number
}

/** Resolves indicator ids (throws the indicators' named errors on a bad id) into a layout. */
export function indicatorLayout(ids: readonly string[]): IndicatorLayout {
  const indicators = resolveIndicators(ids)
  const offsets: number[] = []
  let slots = 0
  for (const indicator of indicators) {
    offsets.push(slots)
    slots += indicator.outputs.length
  }
  const minBars = 1 + Math.max(0, ...indicators.map((indicator) => indicator.lookback))
  return { indicators, offsets, slots, minBars }
}

/** Loads and computes chunks; one per compute thread, or one inline. */
export interface ComputeEngine {
  readonly layout: IndicatorLayout
  /**
   * Loads a chunk's bars and keeps them under `id` until `compute` or `release`; with
   * `fingerprints` false (nothing to look up in a cache) the stocks carry none.
   */
  prepare(id: number, chunk: ChunkSpec, fingerprints?: boolean): Promise<PreparedStock[]>
  /** Computes indicator j of stock i where `need[i * indicators + j]` is 1, then forgets the chunk. */
  compute(chunkId: number, need: Uint8Array): ComputedChunk
  /** Forgets a prepared chunk that will not be computed. */
  release(chunkId: number): void
}

/**
 * Loads and computes in two steps, so the caller can look the fingerprints up in a cache in
 * between. One set of output buffers, as long as the longest series so far, is reused for every
 * stock (the `into` variants); a shorter series writes into views of it.
 */
export function createComputeEngine(setup: EngineSetup): ComputeEngine {
  const layout = indicatorLayout(setup.indicators)
  const load = createBarLoader(setup.source)
  const pending = new Map<number, (StockBars | undefined)[]>()
  let buffers: IndicatorValues[] = []
  let capacity = 0

  const outputsFor = (length: number): IndicatorValues[] => {
    if (length > capacity) {
      buffers = layout.indicators.map((indicator) => indicator.allocate(length))
      capacity = length
    }
    if (length === capacity) return buffers
    return layout.indicators.map((indicator, j) => {
      const views: Record<string, Float64Array> = {}
      for (const name of indicator.outputs) views[name] = buffers[j]![name]!.subarray(0, length)
      return views
    })
  }

  const prepareStock = async (
    code: string,
    index: number,
    chunk: ChunkSpec,
    fingerprints: boolean,
  ) => {
    const started = performance.now()
    let bars: StockBars
    try {
      bars = await load(code, index, chunk)
    } catch (cause) {
      const prepared: PreparedStock = {
        code,
        error: (cause as Error).message,
        loadMs: performance.now() - started,
      }
      return { bars: undefined, prepared }
    }
    const short = bars.close.length < layout.minBars
    const prepared: PreparedStock = {
      code,
      ...(short
        ? {
            error: `too short history: ${bars.close.length} bars, the indicators need at least ${layout.minBars}`,
          }
        : fingerprints
          ? { fingerprint: fingerprint(bars.data) }
          : {}),
      ...latestBar(bars),
      loadMs: performance.now() - started,
    }
    return { bars: short ? undefined : bars, prepared }
  }

  return {
    layout,

    async prepare(id, chunk, fingerprints = true) {
      const kept: (StockBars | undefined)[] = []
      const prepared: PreparedStock[] = []
      for (const [i, code] of chunk.codes.entries()) {
        const stock = await prepareStock(code, chunk.start + i, chunk, fingerprints)
        kept.push(stock.bars)
        prepared.push(stock.prepared)
      }
      pending.set(id, kept)
      return prepared
    },

    compute(chunkId, need) {
      const kept = pending.get(chunkId)!
      pending.delete(chunkId)
      const count = layout.indicators.length
      const values = new Float64Array(kept.length * layout.slots).fill(Number.NaN)
      const computeMs = new Float64Array(kept.length)
      const errors: { stock: number; indicator: number; reason: string }[] = []
      for (const [i, bars] of kept.entries()) {
        if (!bars) continue
        const started = performance.now()
        const last = bars.close.length - 1
        const outputs = outputsFor(bars.close.length)
        for (const [j, indicator] of layout.indicators.entries()) {
          if (need[i * count + j] !== 1) continue
          try {
            const out = indicator.computeInto(outputs[j]!, bars)
            let slot = i * layout.slots + layout.offsets[j]!
            for (const name of indicator.outputs) {
              // Past the lookback a value is finite unless the prices overflow double arithmetic.
              const value = out[name]![last]!
              if (!Number.isFinite(value)) {
                throw new RangeError(`${name} is ${value}: the prices are out of range`)
              }
              values[slot++] = value
            }
          } catch (cause) {
            errors.push({ stock: i, indicator: j, reason: (cause as Error).message })
          }
        }
        computeMs[i] = performance.now() - started
      }
      return { values, errors, computeMs }
    },

    release(chunkId) {
      pending.delete(chunkId)
    },
  }
}

/** A chunk loaded and computed in one step: every indicator of every stock that loaded. */
export interface LoadedChunk {
  readonly stocks: PreparedStock[]
  readonly computed: ComputedChunk
}

/** Serves the chunks of any job: an engine per setup (the two latest kept), chunks by id. */
export interface EngineHost {
  prepare(
    id: number,
    setup: EngineSetup,
    chunk: ChunkSpec,
    fingerprints?: boolean,
  ): Promise<PreparedStock[]>
  compute(id: number, need: Uint8Array): ComputedChunk
  release(id: number): void
  /** `prepare` then `compute` of everything, with nothing to look up in between (no cache). */
  run(id: number, setup: EngineSetup, chunk: ChunkSpec): Promise<LoadedChunk>
}

/** Engines outlive jobs, so a thread keeps its compiled code and buffers from one job to the next. */
export function createEngineHost(): EngineHost {
  const engines = new Map<string, ComputeEngine>()
  const owners = new Map<number, ComputeEngine>()
  const take = (id: number) => {
    const engine = owners.get(id)
    owners.delete(id)
    return engine
  }
  const host: EngineHost = {
    prepare(id, setup, chunk, fingerprints = true) {
      const key = JSON.stringify(setup)
      let engine = engines.get(key)
      if (!engine) {
        engine = createComputeEngine(setup)
        engines.set(key, engine)
        if (engines.size > 2) engines.delete(engines.keys().next().value!)
      }
      owners.set(id, engine)
      return engine.prepare(id, chunk, fingerprints)
    },
    compute(id, need) {
      const engine = take(id)
      if (!engine) throw new Error(`chunk ${id} was not prepared here`)
      return engine.compute(id, need)
    },
    release(id) {
      take(id)?.release(id)
    },
    async run(id, setup, chunk) {
      // No cache to look up: hashing every stock's bars would be wasted.
      const stocks = await host.prepare(id, setup, chunk, false)
      const count = owners.get(id)!.layout.indicators.length
      return { stocks, computed: host.compute(id, new Uint8Array(stocks.length * count).fill(1)) }
    },
  }
  return host
}

/** The latest trade date, and the latest bar when all its values are finite. */
export function latestBar(bars: StockBars): { tradeDate?: string; bar?: Bar } {
  const last = bars.close.length - 1
  if (last < 0) return {}
  const tradeDate = isoDate(bars.dates[last]!)
  const bar = {
    open: bars.open[last]!,
    high: bars.high[last]!,
    low: bars.low[last]!,
    close: bars.close[last]!,
    volume: bars.volume[last]!,
  }
  return Object.values(bar).every(Number.isFinite) ? { tradeDate, bar } : { tradeDate }
}
