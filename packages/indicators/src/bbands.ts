import { IndicatorParamError } from './errors.js'
import { checkOutput, checkPeriod, finiteSeries, RECOMPUTE_EVERY, type Series } from './series.js'

/** Bollinger bands: middle = SMA(n), upper/lower = middle ± k * population standard deviation. */
export interface BbandsOutput {
  readonly upper: Float64Array
  readonly middle: Float64Array
  readonly lower: Float64Array
}

/** Bars before the first band value: n - 1. */
export function bbandsLookback(n = 20, k = 2): number {
  checkPeriod('bbands', 'n', n, 2)
  if (!Number.isFinite(k) || k < 0) {
    throw new IndicatorParamError(
      'bbands',
      'k',
      k,
      `bbands: k must be a finite number >= 0, got ${k}`,
    )
  }
  return n - 1
}

/**
 * TA-Lib BBANDS with an SMA middle and population deviation (variance below TA-Lib's 1e-14 counts
 * as 0). The variance uses shifted, periodically recomputed sums, so flat prices give width 0.
 */
export function bbands(close: Series, n = 20, k = 2): BbandsOutput {
  const length = close.length
  const out = {
    upper: new Float64Array(length),
    middle: new Float64Array(length),
    lower: new Float64Array(length),
  }
  return bbandsInto(out, close, n, k)
}

/** `bbands` writing into caller-provided buffers of the input's length; returns `out`. */
export function bbandsInto(out: BbandsOutput, close: Series, n = 20, k = 2): BbandsOutput {
  const lookback = bbandsLookback(n, k)
  const length = close.length
  checkOutput('bbands', 'out.upper', out.upper, length, [close])
  checkOutput('bbands', 'out.middle', out.middle, length, [close])
  checkOutput('bbands', 'out.lower', out.lower, length, [close])
  const x = finiteSeries(close, 'close')
  const head = Math.min(lookback, length)
  const { upper, middle, lower } = out
  upper.fill(Number.NaN, 0, head)
  middle.fill(Number.NaN, 0, head)
  lower.fill(Number.NaN, 0, head)
  if (lookback >= length) return out
  const block = Math.max(RECOMPUTE_EVERY, n)
  let lastChange = 0
  for (let j = 1; j < n - 1; j++) if (x[j] !== x[j - 1]) lastChange = j
  let i = n - 1
  while (i < length) {
    // Exact sums of the window's first n - 1 values; deviations are taken from `shift`.
    const shift = x[i]!
    let sum = 0
    let sum1 = 0
    let sum2 = 0
    for (let j = i - n + 1; j < i; j++) {
      const value = x[j]!
      const d = value - shift
      sum += value
      sum1 += d
      sum2 += d * d
    }
    const end = Math.min(length, i + block)
    for (; i < end; i++) {
      const value = x[i]!
      if (value !== x[i - 1]) lastChange = i
      const d = value - shift
      sum += value
      sum1 += d
      sum2 += d * d
      const mean = sum / n
      let deviation = 0
      if (lastChange > i - n + 1) {
        const mean1 = sum1 / n
        const variance = sum2 / n - mean1 * mean1
        if (variance >= TA_EPSILON) deviation = Math.sqrt(variance)
      }
      const width = deviation * k
      middle[i] = mean
      upper[i] = mean + width
      lower[i] = mean - width
      const oldest = x[i - n + 1]!
      const dOldest = oldest - shift
      sum -= oldest
      sum1 -= dOldest
      sum2 -= dOldest * dOldest
    }
  }
  return out
}

// ---- Helpers ----

// TA-Lib's TA_IS_ZERO_OR_NEG threshold for the variance.
const TA_EPSILON = 1e-14
