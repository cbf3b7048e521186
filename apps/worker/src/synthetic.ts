import { COLUMNS, createSlab, epochDay, type StockBars, stockBars, weekday } from './bars.js'

/** What makes a synthetic universe: same spec, same bars, on any thread. */
export interface SyntheticSpec {
  readonly seed: number
  /** Trading days in the calendar that ends at `date`. */
  readonly days: number
  /** `YYYY-MM-DD`; the calendar ends on the last weekday on or before it. */
  readonly date: string
}

/** Every FAILURE_PERIOD stocks, one has too short a history and one a NaN high (0.2 %). */
export const FAILURE_PERIOD = 1000
/** Position in each period of the stock with only SHORT_HISTORY_DAYS bars. */
export const SHORT_HISTORY_SLOT = 100
/** Position in each period of the stock whose middle bar has a NaN high (ATR and KDJ fail). */
export const NAN_BAR_SLOT = 600
export const SHORT_HISTORY_DAYS = 20

// First code of each board: Shenzhen main, Shanghai, ChiNext.
const BOARDS = [1, 600_000, 300_001] as const

/**
 * A-share-like codes: Shenzhen main board (000001...), Shanghai (600000...) and ChiNext
 * (300001...) in turn, so any prefix of the list mixes the three boards.
 */
export function syntheticCodes(count: number): string[] {
  const codes = new Array<string>(count)
  for (let i = 0; i < count; i++) {
    const first = BOARDS[i % BOARDS.length]!
    codes[i] = String(first + Math.floor(i / BOARDS.length)).padStart(6, '0')
  }
  return codes
}

/**
 * Loads stock `index` of the universe: a geometric random walk with A-share daily limits
 * (±10 % of the previous close, prices in fen), intraday ranges that contain open and close,
 * positive volume, and suspensions that skip dates. Deterministic in (spec, index).
 */
export function createSyntheticLoader(
  spec: SyntheticSpec,
): (code: string, index: number) => StockBars {
  const calendar = tradingCalendar(spec.date, spec.days)
  const trading = new Uint8Array(calendar.length)
  const slab = createSlab()
  return (code, index) => {
    const first =
      index % FAILURE_PERIOD === SHORT_HISTORY_SLOT
        ? Math.max(0, calendar.length - SHORT_HISTORY_DAYS)
        : 0
    const n = suspensions(new Mulberry32(mix(spec.seed, ~index)), first, trading)
    const dates = slab.int32(n)
    for (let day = first, i = 0; day < calendar.length; day++) {
      if (trading[day] === 1) dates[i++] = calendar[day]!
    }
    const data = slab.float64(n * COLUMNS.length)
    walk(new Mulberry32(mix(spec.seed, index)), data, n)
    if (index % FAILURE_PERIOD === NAN_BAR_SLOT) data[n + (n >> 1)] = Number.NaN
    return stockBars(code, dates, data)
  }
}

// ---- Generation ----

// Normal quantiles at (k + 0.5) / NORMALS for k < NORMALS: a draw is one lookup.
const NORMALS = 4096
const QUANTILES = Float64Array.from({ length: NORMALS }, (_, k) =>
  inverseNormal((k + 0.5) / NORMALS),
)

// Marks the days from `first` on that trade (1) or are suspended (0); returns how many trade.
function suspensions(random: Mulberry32, first: number, trading: Uint8Array): number {
  trading.fill(0, 0, first)
  let n = 0
  let suspended = 0
  for (let day = first; day < trading.length; day++) {
    if (suspended === 0 && random.chance() < 0.002) suspended = 1 + (random.next() % 15)
    if (suspended > 0) {
      suspended--
      trading[day] = 0
    } else {
      trading[day] = 1
      n++
    }
  }
  return n
}

/**
 * Writes n bars of a random walk into `data` (columns open, high, low, close, volume). Three
 * 32-bit draws a bar, each split into 12-bit normal quantile indices (and 8 bits of chance).
 */
function walk(random: Mulberry32, data: Float64Array, n: number): void {
  const sigma = 0.012 + 0.02 * random.chance()
  const drift = 0.0004 * random.normal()
  const baseLots = 20_000 * Math.exp(random.normal())
  let previous = round2(Math.min(300, Math.max(2, 15 * Math.exp(0.8 * random.normal()))))
  for (let i = 0; i < n; i++) {
    const a = random.next()
    const b = random.next()
    const c = random.next()
    const up = round2(previous * 1.1)
    const down = round2(previous * 0.9)
    // A jump on about 1 % of the days (3 of 256), as large as three ordinary moves.
    const jump = (a & 0xff) < 3 ? 3 * sigma * QUANTILES[c & 0xfff]! : 0
    const change = drift + sigma * QUANTILES[a >>> 20]! + jump
    const close = clamp(round2(previous * (1 + change)), down, up)
    const open = clamp(
      round2(previous * (1 + 0.3 * sigma * QUANTILES[(a >>> 8) & 0xfff]!)),
      down,
      up,
    )
    const top = Math.max(open, close)
    const bottom = Math.min(open, close)
    const high = clamp(round2(top * (1 + 0.5 * sigma * Math.abs(QUANTILES[b >>> 20]!))), top, up)
    const low = clamp(
      round2(bottom * (1 - 0.5 * sigma * Math.abs(QUANTILES[(b >>> 8) & 0xfff]!))),
      down,
      bottom,
    )
    const lots = baseLots * (1 + 0.4 * Math.abs(QUANTILES[c >>> 20]!)) * (1 + 20 * Math.abs(change))
    data[i] = open
    data[n + i] = high
    data[2 * n + i] = low
    data[3 * n + i] = close
    data[4 * n + i] = 100 * Math.max(1, Math.round(lots))
    previous = close
  }
}

// The last `days` weekdays up to `date`, as day numbers, oldest first.
function tradingCalendar(date: string, days: number): Int32Array {
  let day = epochDay(date)
  if (day === undefined) throw new RangeError(`not a date: ${date}`)
  const calendar = new Int32Array(days)
  for (let i = days - 1; i >= 0; day--) {
    const dow = weekday(day)
    if (dow !== 0 && dow !== 6) calendar[i--] = day
  }
  return calendar
}

function round2(x: number): number {
  return Math.round(x * 100) / 100
}

function clamp(x: number, min: number, max: number): number {
  return Math.min(Math.max(x, min), max)
}

// mulberry32: a tiny, fast 32-bit generator, plenty for synthetic prices.
class Mulberry32 {
  constructor(private state: number) {}

  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0
    let t = Math.imul(this.state ^ (this.state >>> 15), 1 | this.state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return (t ^ (t >>> 14)) >>> 0
  }

  /** Uniform in [0, 1). */
  chance(): number {
    return this.next() / 4_294_967_296
  }

  /** Standard normal, by table lookup. */
  normal(): number {
    return QUANTILES[this.next() >>> 20]!
  }
}

// A 32-bit seed from (seed, index), well spread so neighbouring stocks are unrelated.
function mix(seed: number, index: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)
  h ^= h >>> 16
  h = Math.imul(h, 0x7feb352d)
  h ^= h >>> 15
  h = Math.imul(h, 0x846ca68b)
  return (h ^ (h >>> 16)) >>> 0
}

// Acklam's rational approximation of the standard normal quantile (relative error < 1.2e-9).
function inverseNormal(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ]
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
    -13.28068155288572,
  ]
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
    4.374664141464968, 2.938163982698783,
  ]
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416]
  const tail = (q: number) =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
    ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)))
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)))
  const q = p - 0.5
  const r = q * q
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  )
}
