import {
  checkOutput,
  checkPeriod,
  conventionOf,
  finiteHlc,
  type IndicatorOptions,
  type Series,
  scratchFloat64,
} from './series.js'
import { rollingMean } from './sma.js'

/** Bars before the first ATR value: n (true range starts at bar 1), in both conventions. */
export function atrLookback(n = 14, options?: IndicatorOptions): number {
  checkPeriod('atr', 'n', n, 1)
  conventionOf('atr', options)
  return n
}

/**
 * Average true range. TA-Lib: Wilder smoothing seeded with the mean of the first n true ranges,
 * atr = (atr * (n-1) + tr) / n. tdx (通达信): ATR = MA(TR, n).
 */
export function atr(
  high: Series,
  low: Series,
  close: Series,
  n = 14,
  options?: IndicatorOptions,
): Float64Array {
  return atrInto(new Float64Array(close.length), high, low, close, n, options)
}

/** `atr` writing into a caller-provided buffer of the input's length; returns `out`. */
export function atrInto(
  out: Float64Array,
  high: Series,
  low: Series,
  close: Series,
  n = 14,
  options?: IndicatorOptions,
): Float64Array {
  const lookback = atrLookback(n, options)
  checkOutput('atr', 'out', out, close.length, [high, low, close])
  const [h, l, c] = finiteHlc(high, low, close)
  const length = c.length
  out.fill(Number.NaN, 0, Math.min(lookback, length))
  if (lookback >= length) return out
  if (conventionOf('atr', options) === 'talib') atrWilder(out, h, l, c, n)
  else atrMean(out, h, l, c, n)
  return out
}

// ---- Kernels ----

function atrWilder(
  out: Float64Array,
  h: Float64Array,
  l: Float64Array,
  c: Float64Array,
  n: number,
): void {
  const length = c.length
  let sum = 0
  for (let i = 1; i <= n; i++) sum += trueRange(h[i]!, l[i]!, c[i - 1]!)
  let average = sum / n
  out[n] = average
  const carry = n - 1
  for (let i = n + 1; i < length; i++) {
    average *= carry
    average += trueRange(h[i]!, l[i]!, c[i - 1]!)
    average /= n
    out[i] = average
  }
}

function atrMean(
  out: Float64Array,
  h: Float64Array,
  l: Float64Array,
  c: Float64Array,
  n: number,
): void {
  const length = c.length
  const ranges = scratchFloat64(0, length)
  for (let i = 1; i < length; i++) ranges[i] = trueRange(h[i]!, l[i]!, c[i - 1]!)
  rollingMean(out, ranges.subarray(0, length), 1, n)
}

// TA-Lib's TRANGE: max(high - low, |prevClose - high|, |prevClose - low|).
function trueRange(high: number, low: number, previousClose: number): number {
  let greatest = high - low
  const toHigh = Math.abs(previousClose - high)
  if (toHigh > greatest) greatest = toHigh
  const toLow = Math.abs(previousClose - low)
  if (toLow > greatest) greatest = toLow
  return greatest
}
