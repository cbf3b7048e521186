import { describe, expect, it } from 'vitest'
import { bbands, bbandsInto, bbandsLookback } from './bbands.js'
import { expectSeries, randomBars } from './test-support/series.js'

const N = Number.NaN

/** Two-pass population deviation per window; variance below 1e-14 is 0, as TA-Lib. */
function naiveBbands(close: ArrayLike<number>, n: number, k: number) {
  const upper: number[] = []
  const middle: number[] = []
  const lower: number[] = []
  for (let i = 0; i < close.length; i++) {
    if (i < n - 1) {
      upper.push(N)
      middle.push(N)
      lower.push(N)
      continue
    }
    const window = Array.from({ length: n }, (_, j) => close[i - n + 1 + j]!)
    const mean = window.reduce((a, b) => a + b, 0) / n
    const variance = window.reduce((a, b) => a + (b - mean) ** 2, 0) / n
    const deviation = variance < 1e-14 ? 0 : Math.sqrt(variance)
    upper.push(mean + k * deviation)
    middle.push(mean)
    lower.push(mean - k * deviation)
  }
  return { upper, middle, lower }
}

describe('bbands', () => {
  it('matches hand-computed values', () => {
    // window [1, 2, 3]: mean 2, variance 2/3; window [2, 3, 7]: mean 4, variance 14/3
    const out = bbands([1, 2, 3, 7], 3, 2)
    expectSeries(out.middle, [N, N, 2, 4])
    expectSeries(out.upper, [N, N, 2 + 2 * Math.sqrt(2 / 3), 4 + 2 * Math.sqrt(14 / 3)])
    expectSeries(out.lower, [N, N, 2 - 2 * Math.sqrt(2 / 3), 4 - 2 * Math.sqrt(14 / 3)])
  })

  it.each([0.01, 100.37, 1000000.123])(
    'gives width exactly 0 on flat prices of %d, even after a long walk',
    (price) => {
      const close = new Float64Array(30_000)
      close.set(randomBars(29_000, 9, price).close)
      close.fill(price, 29_000)
      const out = bbands(close)
      for (let i = 29_019; i < close.length; i++) expect(out.upper[i]! - out.lower[i]!).toBe(0)
    },
  )

  it.each([
    { close: [1, 1, 1 + 1e-7], width: 0 },
    { close: [1, 1, 1 + 1e-6], width: 4 * Math.sqrt(2e-12 / 9) },
  ])('treats variance below TA-Lib epsilon 1e-14 as 0: $close', ({ close, width }) => {
    const out = bbands(close, 3, 2)
    expect(out.upper[2]! - out.lower[2]!).toBeCloseTo(width, 12)
  })

  it.each([
    { start: 0.01, flatEvery: 50 },
    { start: 100, flatEvery: 0 },
    { start: 1e6, flatEvery: 50 },
  ])('agrees with a two-pass deviation on 20,000 bars from $start', ({ start, flatEvery }) => {
    const { close } = randomBars(20_000, 17, start, flatEvery)
    const out = bbands(close, 20, 2)
    const expected = naiveBbands(close, 20, 2)
    expectSeries(out.middle, expected.middle, 1e-13)
    expectSeries(out.upper, expected.upper, 1e-12)
    expectSeries(out.lower, expected.lower, 1e-12)
  })

  it('has lookback n - 1', () => {
    expect(bbandsLookback()).toBe(19)
    expectSeries(bbands([1, 2, 3], 5).middle, [N, N, N])
  })

  it('writes into the caller buffers and returns them', () => {
    const out = {
      upper: new Float64Array(3),
      middle: new Float64Array(3),
      lower: new Float64Array(3),
    }
    expect(bbandsInto(out, [4, 4, 4], 2, 1)).toBe(out)
    expectSeries(out.upper, [N, 4, 4])
  })
})
