import { describe, expect, it } from 'vitest'
import { rsi, rsiInto, rsiLookback } from './rsi.js'
import { expectSeries, firstValue, randomBars } from './test-support/series.js'

const N = Number.NaN

/** Wilder's RSI from its definition: RSI = 100 - 100 / (1 + avgGain / avgLoss). */
function naiveRsi(close: ArrayLike<number>, n: number): number[] {
  const out: number[] = Array.from({ length: close.length }, () => Number.NaN)
  let gain = 0
  let loss = 0
  for (let i = 1; i < close.length; i++) {
    const change = close[i]! - close[i - 1]!
    const up = Math.max(change, 0)
    const down = Math.max(-change, 0)
    if (i <= n) {
      gain += up / n
      loss += down / n
    } else {
      gain = gain + (up - gain) / n
      loss = loss + (down - loss) / n
    }
    if (i >= n) out[i] = loss === 0 ? (gain === 0 ? 0 : 100) : 100 - 100 / (1 + gain / loss)
  }
  return out
}

describe('rsi', () => {
  it.each([
    // changes +1, -1, +2: seed gain = loss = 0.5 -> 50; then gain 1.25, loss 0.25 -> 100 * 1.25 / 1.5
    { close: [1, 2, 1, 3], n: 2, expected: [N, N, 50, 250 / 3] },
    { close: [1, 2, 3, 4], n: 2, expected: [N, N, 100, 100] },
    { close: [4, 3, 2, 1], n: 2, expected: [N, N, 0, 0] },
    { close: [5, 5, 5, 5], n: 2, expected: [N, N, 0, 0] },
    { close: [1, 2], n: 2, expected: [N, N] },
  ])('rsi($close, $n) = $expected', ({ close, n, expected }) => {
    expectSeries(rsi(close, n), expected)
  })

  it('agrees with the textbook formula on a random walk', () => {
    const { close } = randomBars(3_000, 13)
    expectSeries(rsi(close), naiveRsi(close, 14), 1e-10)
  })

  it('is 0 once average gain + loss falls below TA-Lib epsilon 1e-14 after a long flat stretch', () => {
    const close = [0.01, 0.0101, ...Array.from({ length: 600 }, () => 0.0101)]
    const out = rsi(close)
    expect(out[14]).toBe(100)
    expect(out.at(-1)).toBe(0)
  })

  it('has lookback n and starts on bar 14 by default', () => {
    expect(rsiLookback()).toBe(14)
    expect(firstValue(rsi(randomBars(30, 2).close))).toBe(14)
  })

  it('writes into the caller buffer and returns it', () => {
    const out = new Float64Array(4)
    expect(rsiInto(out, [1, 2, 1, 3], 2)).toBe(out)
    expectSeries(out, [N, N, 50, 250 / 3])
  })
})
