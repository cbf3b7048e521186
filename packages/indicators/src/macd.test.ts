import { describe, expect, it } from 'vitest'
import { macd, macdInto, macdLookback } from './macd.js'
import { expectSeries, firstValue, randomBars } from './test-support/series.js'

const N = Number.NaN

/** MACD spelled out from its definition with separate full-length EMA arrays. */
function naiveMacd(close: Float64Array, fast: number, slow: number, signal: number) {
  const emaFrom = (x: ArrayLike<number>, n: number, seedEnd: number): number[] => {
    const out: number[] = Array.from({ length: x.length }, () => Number.NaN)
    if (seedEnd >= x.length) return out
    let value = 0
    for (let i = seedEnd - n + 1; i <= seedEnd; i++) value += x[i]!
    value /= n
    out[seedEnd] = value
    for (let i = seedEnd + 1; i < x.length; i++) {
      value += (2 / (n + 1)) * (x[i]! - value)
      out[i] = value
    }
    return out
  }
  const slowEma = emaFrom(close, slow, slow - 1)
  const fastEma = emaFrom(close, fast, slow - 1)
  const line = slowEma.map((s, i) => fastEma[i]! - s)
  const signalEma = emaFrom(line, signal, slow - 1 + signal - 1)
  const lookback = slow + signal - 2
  return {
    macd: line.map((v, i) => (i < lookback ? Number.NaN : v)),
    signal: signalEma,
    hist: signalEma.map((s, i) => line[i]! - s),
  }
}

describe('macd', () => {
  it('matches hand-computed values for fast=2, slow=3, signal=2', () => {
    // slow EMA seeded by mean(1,2,3) = 2, fast EMA by mean(2,3) = 2.5, both on bar 2;
    // signal seeded by mean(macd[2], macd[3]) = (1/2 + 2/3) / 2 on bar 3.
    const out = macd([1, 2, 3, 5, 8], 2, 3, 2)
    expectSeries(out.macd, [N, N, N, 2 / 3, 35 / 36])
    expectSeries(out.signal, [N, N, N, 7 / 12, 91 / 108])
    expectSeries(out.hist, [N, N, N, 1 / 12, 7 / 54])
  })

  it('matches hand-computed tdx values: first-close seeds and hist = 2 * (macd - signal)', () => {
    // fast EMA(2): 1, 5/3, 23/9; slow EMA(3): 1, 3/2, 9/4; DIF: 0, 1/6, 11/36; DEA(2): 0, 1/9, 13/54.
    const out = macd([1, 2, 3], 2, 3, 2, { convention: 'tdx' })
    expectSeries(out.macd, [0, 1 / 6, 11 / 36])
    expectSeries(out.signal, [0, 1 / 9, 13 / 54])
    expectSeries(out.hist, [0, 1 / 9, 2 * (11 / 36 - 13 / 54)])
  })

  it('agrees with the definition on a random walk, first value on bar 33', () => {
    const { close } = randomBars(1_000, 5)
    const out = macd(close)
    const expected = naiveMacd(close, 12, 26, 9)
    expect(firstValue(out.macd)).toBe(33)
    expectSeries(out.macd, expected.macd, 1e-9)
    expectSeries(out.signal, expected.signal, 1e-9)
    expectSeries(out.hist, expected.hist, 1e-6)
  })

  it.each([
    { length: 33, first: 33 },
    { length: 34, first: 33 },
    { length: 0, first: 0 },
  ])('on $length bars the first value is on bar $first', ({ length, first }) => {
    const out = macd(randomBars(length, 1).close)
    for (const series of [out.macd, out.signal, out.hist]) expect(firstValue(series)).toBe(first)
  })

  it('has lookback slow + signal - 2 (TA-Lib) or 0 (tdx)', () => {
    expect(macdLookback()).toBe(33)
    expect(macdLookback(5, 35, 5)).toBe(38)
    expect(macdLookback(12, 26, 9, { convention: 'tdx' })).toBe(0)
  })

  it('writes into the caller buffers and returns them', () => {
    const out = {
      macd: new Float64Array(5),
      signal: new Float64Array(5),
      hist: new Float64Array(5),
    }
    expect(macdInto(out, [1, 2, 3, 5, 8], 2, 3, 2)).toBe(out)
    expectSeries(out.hist, [N, N, N, 1 / 12, 7 / 54])
  })
})
