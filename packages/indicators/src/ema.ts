import {
  checkOutput,
  checkPeriod,
  conventionOf,
  finiteSeries,
  type IndicatorOptions,
  type Series,
} from './series.js'

/** Bars before the first EMA value: n - 1 (TA-Lib, seeded by the mean of n bars) or 0 (tdx). */
export function emaLookback(n: number, options?: IndicatorOptions): number {
  checkPeriod('ema', 'n', n, 2)
  return conventionOf('ema', options) === 'talib' ? n - 1 : 0
}

/**
 * Exponential moving average, k = 2/(n+1). TA-Lib seeds it with the mean of the first n closes;
 * tdx (通达信) seeds it with the first close.
 */
export function ema(close: Series, n: number, options?: IndicatorOptions): Float64Array {
  return emaInto(new Float64Array(close.length), close, n, options)
}

/** `ema` writing into a caller-provided buffer of the input's length; returns `out`. */
export function emaInto(
  out: Float64Array,
  close: Series,
  n: number,
  options?: IndicatorOptions,
): Float64Array {
  const lookback = emaLookback(n, options)
  checkOutput('ema', 'out', out, close.length, [close])
  const x = finiteSeries(close, 'close')
  out.fill(Number.NaN, 0, Math.min(lookback, x.length))
  if (lookback > 0) emaTalib(out, x, n)
  else emaTdx(out, x, n)
  return out
}

// ---- Kernels ----

// TA-Lib's INT_EMA: seed = mean of the first n, then prev = (x - prev) * k + prev, same order.
function emaTalib(out: Float64Array, x: Float64Array, n: number): void {
  const length = x.length
  const seedEnd = n - 1
  if (seedEnd >= length) return
  const k = 2 / (n + 1)
  let sum = 0
  for (let i = 0; i <= seedEnd; i++) sum += x[i]!
  let prev = sum / n
  out[seedEnd] = prev
  for (let i = seedEnd + 1; i < length; i++) {
    prev = (x[i]! - prev) * k + prev
    out[i] = prev
  }
}

// 通达信 EMA(X,N): Y = (2X + (N-1)Y') / (N+1), Y(0) = X(0).
function emaTdx(out: Float64Array, x: Float64Array, n: number): void {
  const length = x.length
  if (length === 0) return
  let prev = x[0]!
  out[0] = prev
  for (let i = 1; i < length; i++) {
    prev = (2 * x[i]! + (n - 1) * prev) / (n + 1)
    out[i] = prev
  }
}
