import {
  checkOutput,
  checkPeriod,
  finiteHlc,
  type Series,
  scratchFloat64,
  scratchInt32,
} from './series.js'

/** The 通达信 KDJ lines. */
export interface KdjOutput {
  readonly k: Float64Array
  readonly d: Float64Array
  readonly j: Float64Array
}

/** Bars before the first KDJ value: n - 1. */
export function kdjLookback(n = 9, m1 = 3, m2 = 3): number {
  checkPeriod('kdj', 'n', n, 1)
  checkPeriod('kdj', 'm1', m1, 1)
  checkPeriod('kdj', 'm2', m2, 1)
  return n - 1
}

/**
 * 通达信 KDJ: RSV = (C - LLV(L,n)) / (HHV(H,n) - LLV(L,n)) * 100, 50 when HHV = LLV; K = ((m1-1)K' + RSV)/m1,
 * D = ((m2-1)D' + K)/m2, both starting at 50; J = 3K - 2D, not clamped.
 */
export function kdj(high: Series, low: Series, close: Series, n = 9, m1 = 3, m2 = 3): KdjOutput {
  const length = close.length
  const out = {
    k: new Float64Array(length),
    d: new Float64Array(length),
    j: new Float64Array(length),
  }
  return kdjInto(out, high, low, close, n, m1, m2)
}

/** `kdj` writing into caller-provided buffers of the input's length; returns `out`. */
export function kdjInto(
  out: KdjOutput,
  high: Series,
  low: Series,
  close: Series,
  n = 9,
  m1 = 3,
  m2 = 3,
): KdjOutput {
  const lookback = kdjLookback(n, m1, m2)
  const length = close.length
  const inputs = [high, low, close]
  checkOutput('kdj', 'out.k', out.k, length, inputs)
  checkOutput('kdj', 'out.d', out.d, length, inputs)
  checkOutput('kdj', 'out.j', out.j, length, inputs)
  const [h, l, c] = finiteHlc(high, low, close)
  const { k: kOut, d: dOut, j: jOut } = out
  const head = Math.min(lookback, length)
  kOut.fill(Number.NaN, 0, head)
  dOut.fill(Number.NaN, 0, head)
  jOut.fill(Number.NaN, 0, head)
  // Monotonic deques: the window's highest high / lowest low sits at the head. Each keeps the bar
  // index (to expire it) and the value (so comparisons need no second lookup).
  const highAt = scratchInt32(0, length)
  const lowAt = scratchInt32(1, length)
  const highs = scratchFloat64(0, length)
  const lows = scratchFloat64(1, length)
  let highHead = 0
  let highTail = 0
  let lowHead = 0
  let lowTail = 0
  let k = 50
  let d = 50
  for (let i = 0; i < length; i++) {
    const hi = h[i]!
    while (highTail > highHead && highs[highTail - 1]! <= hi) highTail--
    highAt[highTail] = i
    highs[highTail++] = hi
    if (highAt[highHead]! <= i - n) highHead++
    const lo = l[i]!
    while (lowTail > lowHead && lows[lowTail - 1]! >= lo) lowTail--
    lowAt[lowTail] = i
    lows[lowTail++] = lo
    if (lowAt[lowHead]! <= i - n) lowHead++
    if (i < lookback) continue
    const highest = highs[highHead]!
    const lowest = lows[lowHead]!
    const range = highest - lowest
    const rsv = range === 0 ? 50 : ((c[i]! - lowest) / range) * 100
    k = (k * (m1 - 1) + rsv) / m1
    d = (d * (m2 - 1) + k) / m2
    kOut[i] = k
    dOut[i] = d
    jOut[i] = 3 * k - 2 * d
  }
  return out
}
