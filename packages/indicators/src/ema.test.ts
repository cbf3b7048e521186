import { describe, expect, it } from 'vitest'
import { ema, emaInto, emaLookback } from './ema.js'
import { expectSeries, randomBars } from './test-support/series.js'

const N = Number.NaN

/** Textbook EMA, independent of the implementation: seed = mean of the first n, k = 2/(n+1). */
function naiveEma(close: ArrayLike<number>, n: number): number[] {
  const out: number[] = Array.from({ length: close.length }, () => Number.NaN)
  if (close.length < n) return out
  let value = 0
  for (let i = 0; i < n; i++) value += close[i]! / n
  out[n - 1] = value
  for (let i = n; i < close.length; i++) {
    value = (2 / (n + 1)) * close[i]! + (1 - 2 / (n + 1)) * value
    out[i] = value
  }
  return out
}

describe('ema', () => {
  it.each([
    { close: [1, 2, 3, 4, 5], n: 3, expected: [N, N, 2, 3, 4] },
    { close: [2, 4, 6, 8, 12, 10], n: 3, expected: [N, N, 4, 6, 9, 9.5] },
    { close: [3, 6, 9, 3], n: 2, expected: [N, 4.5, 7.5, 4.5] },
    { close: [1, 2], n: 3, expected: [N, N] },
  ])('ema($close, $n) = $expected (TA-Lib: seeded with the mean)', ({ close, n, expected }) => {
    expectSeries(ema(close, n), expected)
  })

  it.each([
    { close: [2, 4, 6], n: 3, expected: [2, 3, 4.5] },
    { close: [10, 4, 4], n: 2, expected: [10, 6, 14 / 3] },
  ])(
    'ema($close, $n, tdx) = $expected (通达信: seeded with the first close)',
    ({ close, n, expected }) => {
      expectSeries(ema(close, n, { convention: 'tdx' }), expected)
    },
  )

  it('agrees with a textbook EMA on a random walk', () => {
    const { close } = randomBars(2_000, 11)
    expectSeries(ema(close, 12), naiveEma(close, 12))
  })

  it('has lookback n - 1 (TA-Lib) or 0 (tdx)', () => {
    expect(emaLookback(12)).toBe(11)
    expect(emaLookback(12, { convention: 'tdx' })).toBe(0)
  })

  it('writes into the caller buffer and returns it', () => {
    const out = new Float64Array(3)
    expect(emaInto(out, [2, 4, 6], 2)).toBe(out)
    expectSeries(out, [N, 3, 5])
  })
})
