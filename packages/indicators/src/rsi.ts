import { checkOutput, checkPeriod, finiteSeries, type Series } from './series.js'

/** Bars before the first RSI value: n (the first change is at bar 1). */
export function rsiLookback(n = 14): number {
  checkPeriod('rsi', 'n', n, 2)
  return n
}

/**
 * Wilder's RSI as TA-Lib: average gain/loss seeded with the mean of the first n changes, then
 * avg = (avg * (n-1) + change) / n; 0 when avg gain + avg loss is zero (|sum| < 1e-14, TA-Lib's epsilon).
 */
export function rsi(close: Series, n = 14): Float64Array {
  return rsiInto(new Float64Array(close.length), close, n)
}

/** `rsi` writing into a caller-provided buffer of the input's length; returns `out`. */
export function rsiInto(out: Float64Array, close: Series, n = 14): Float64Array {
  const lookback = rsiLookback(n)
  checkOutput('rsi', 'out', out, close.length, [close])
  const x = finiteSeries(close, 'close')
  const length = x.length
  out.fill(Number.NaN, 0, Math.min(lookback, length))
  if (lookback >= length) return out
  let gain = 0
  let loss = 0
  let previous = x[0]!
  for (let i = 1; i <= n; i++) {
    const value = x[i]!
    const change = value - previous
    previous = value
    if (change < 0) loss -= change
    else gain += change
  }
  loss /= n
  gain /= n
  out[n] = ratio(gain, loss)
  const carry = n - 1
  for (let i = n + 1; i < length; i++) {
    const value = x[i]!
    const change = value - previous
    previous = value
    loss *= carry
    gain *= carry
    if (change < 0) loss -= change
    else gain += change
    loss /= n
    gain /= n
    out[i] = ratio(gain, loss)
  }
  return out
}

// ---- Helpers ----

// TA-Lib's TA_IS_ZERO threshold.
const TA_EPSILON = 1e-14

function ratio(gain: number, loss: number): number {
  const total = gain + loss
  return total > -TA_EPSILON && total < TA_EPSILON ? 0 : 100 * (gain / total)
}
