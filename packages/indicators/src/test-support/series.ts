import { expect } from 'vitest'

/** Reproducible bars: a 2% random walk from `start`, with `flatEvery` > 0 adding flat stretches. */
export function randomBars(
  length: number,
  seed: number,
  start = 100,
  flatEvery = 0,
): { high: Float64Array; low: Float64Array; close: Float64Array } {
  let state = seed >>> 0
  const rnd = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 4294967296
  }
  const high = new Float64Array(length)
  const low = new Float64Array(length)
  const close = new Float64Array(length)
  let price = start
  for (let i = 0; i < length; i++) {
    const flat = flatEvery > 0 && Math.floor(i / flatEvery) % 2 === 1
    const open = price
    if (!flat) price *= 1 + (rnd() - 0.5) * 0.04
    high[i] = flat ? price : Math.max(open, price) * (1 + rnd() * 0.01)
    low[i] = flat ? price : Math.min(open, price) * (1 - rnd() * 0.01)
    close[i] = price
  }
  return { high, low, close }
}

/** Asserts equal NaN positions and a relative error of at most `tolerance` elsewhere. */
export function expectSeries(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance = 1e-12,
): void {
  expect(actual.length).toBe(expected.length)
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!
    const e = expected[i]!
    if (Number.isNaN(e)) {
      expect(a, `bar ${i}`).toBeNaN()
    } else if (a !== e) {
      expect(Math.abs(a - e) / Math.abs(e), `bar ${i}: ${a} vs ${e}`).toBeLessThanOrEqual(tolerance)
    }
  }
}

/** Index of the first non-NaN value, or the length when there is none. */
export function firstValue(series: ArrayLike<number>): number {
  let i = 0
  while (i < series.length && Number.isNaN(series[i])) i++
  return i
}
