import { describe, expect, it } from 'vitest'
import { atr, atrInto, atrLookback } from './atr.js'
import { expectSeries, firstValue, randomBars } from './test-support/series.js'

const N = Number.NaN

// True ranges from bar 1: 2.5 (gap from 9.5 to 12), 4 (11 -> 15), 6 (14 -> 8).
const high = [10, 12, 15, 11]
const low = [9, 10, 13, 8]
const close = [9.5, 11, 14, 9]

/** Wilder ATR from the definition, with true range written out. */
function naiveAtr(h: ArrayLike<number>, l: ArrayLike<number>, c: ArrayLike<number>, n: number) {
  const ranges = Array.from({ length: c.length }, (_, i) =>
    i === 0 ? N : Math.max(h[i]! - l[i]!, Math.abs(h[i]! - c[i - 1]!), Math.abs(l[i]! - c[i - 1]!)),
  )
  const out = ranges.map(() => N)
  let average = 0
  for (let i = 1; i < c.length; i++) {
    average = i <= n ? average + ranges[i]! / n : average + (ranges[i]! - average) / n
    if (i >= n) out[i] = average
  }
  return out
}

describe('atr', () => {
  it.each([
    { n: 2, expected: [N, N, 3.25, 4.625] },
    { n: 1, expected: [N, 2.5, 4, 6] },
    { n: 3, expected: [N, N, N, 12.5 / 3] },
    { n: 4, expected: [N, N, N, N] },
  ])('atr(n = $n) = $expected (Wilder, seeded with the mean true range)', ({ n, expected }) => {
    expectSeries(atr(high, low, close, n), expected)
  })

  it('is MA(TR, n) in the tdx convention', () => {
    expectSeries(atr(high, low, close, 2, { convention: 'tdx' }), [N, N, 3.25, 5])
  })

  it('agrees with the definition on a random walk', () => {
    const bars = randomBars(3_000, 19)
    expectSeries(
      atr(bars.high, bars.low, bars.close),
      naiveAtr(bars.high, bars.low, bars.close, 14),
      1e-10,
    )
  })

  it('has lookback n in both conventions', () => {
    expect(atrLookback()).toBe(14)
    expect(atrLookback(14, { convention: 'tdx' })).toBe(14)
    const bars = randomBars(40, 4)
    expect(firstValue(atr(bars.high, bars.low, bars.close, 14, { convention: 'tdx' }))).toBe(14)
  })

  it('writes into the caller buffer and returns it', () => {
    const out = new Float64Array(4)
    expect(atrInto(out, high, low, close, 2)).toBe(out)
    expectSeries(out, [N, N, 3.25, 4.625])
  })
})
