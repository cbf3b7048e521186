import { checkOutput, checkPeriod, finiteSeries, RECOMPUTE_EVERY, type Series } from './series.js'

/** Bars before the first SMA value: n - 1. */
export function smaLookback(n: number): number {
  checkPeriod('sma', 'n', n, 2)
  return n - 1
}

/** Simple moving average of the last n closes (TA-Lib SMA); NaN during the lookback. */
export function sma(close: Series, n: number): Float64Array {
  return smaInto(new Float64Array(close.length), close, n)
}

/** `sma` writing into a caller-provided buffer of the input's length; returns `out`. */
export function smaInto(out: Float64Array, close: Series, n: number): Float64Array {
  const lookback = smaLookback(n)
  checkOutput('sma', 'out', out, close.length, [close])
  const x = finiteSeries(close, 'close')
  out.fill(Number.NaN, 0, Math.min(lookback, x.length))
  rollingMean(out, x, 0, n)
  return out
}

/**
 * Writes mean(x[i-n+1..i]) for every i >= first + n - 1, in TA-Lib's order (add the new value,
 * divide, drop the oldest) but re-summing the window every RECOMPUTE_EVERY bars to stop drift.
 */
export function rollingMean(out: Float64Array, x: Float64Array, first: number, n: number): void {
  const length = x.length
  const block = Math.max(RECOMPUTE_EVERY, n)
  let i = first + n - 1
  while (i < length) {
    let sum = 0
    for (let j = i - n + 1; j < i; j++) sum += x[j]!
    const end = Math.min(length, i + block)
    for (; i < end; i++) {
      sum += x[i]!
      out[i] = sum / n
      sum -= x[i - n + 1]!
    }
  }
}
