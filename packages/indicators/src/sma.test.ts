import { describe, expect, it } from 'vitest'
import { sma, smaInto, smaLookback } from './sma.js'
import { expectSeries, randomBars } from './test-support/series.js'

const N = Number.NaN

describe('sma', () => {
  it.each([
    { close: [1, 2, 3, 4, 5], n: 3, expected: [N, N, 2, 3, 4] },
    { close: [2, 4, 6, 8], n: 2, expected: [N, 3, 5, 7] },
    { close: [10, 20, 60, 10, 30], n: 3, expected: [N, N, 30, 30, 100 / 3] },
    { close: [5, 5, 5, 5], n: 4, expected: [N, N, N, 5] },
    { close: [1, 2, 3], n: 4, expected: [N, N, N] },
    { close: [], n: 5, expected: [] },
  ])('sma($close, $n) = $expected', ({ close, n, expected }) => {
    expectSeries(sma(close, n), expected)
  })

  it('has lookback n - 1', () => {
    expect(smaLookback(5)).toBe(4)
    expect(smaLookback(60)).toBe(59)
  })

  it.each([
    { start: 100, flatEvery: 0 },
    { start: 1e6, flatEvery: 500 },
  ])(
    'matches a fresh window sum on every bar of 100,000 bars from $start (no drift)',
    ({ start, flatEvery }) => {
      const { close } = randomBars(100_000, 7, start, flatEvery)
      const n = 20
      const expected = new Float64Array(close.length).fill(Number.NaN)
      for (let i = n - 1; i < close.length; i++) {
        let sum = 0
        for (let j = i - n + 1; j <= i; j++) sum += close[j]!
        expected[i] = sum / n
      }
      expectSeries(sma(close, n), expected, 1e-14)
    },
  )

  it('gives the flat price within 1e-15 on a flat stretch after a long walk', () => {
    const close = new Float64Array(20_000)
    close.set(randomBars(19_000, 3, 1e6).close)
    close.fill(1234567.891, 19_000)
    const last = sma(close, 10).at(-1)!
    expect(Math.abs(last - 1234567.891) / 1234567.891).toBeLessThanOrEqual(1e-15)
  })

  it('writes into the caller buffer and returns it', () => {
    const out = new Float64Array(4).fill(7)
    expect(smaInto(out, [1, 2, 3, 4], 2)).toBe(out)
    expectSeries(out, [N, 1.5, 2.5, 3.5])
  })
})
