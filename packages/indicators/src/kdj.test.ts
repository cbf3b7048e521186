import { describe, expect, it } from 'vitest'
import { kdj, kdjInto, kdjLookback } from './kdj.js'
import { expectSeries, randomBars } from './test-support/series.js'

const N = Number.NaN

/** 通达信 KDJ with HHV/LLV by scanning each window. */
function naiveKdj(h: ArrayLike<number>, l: ArrayLike<number>, c: ArrayLike<number>, n: number) {
  const k: number[] = []
  const d: number[] = []
  const j: number[] = []
  let kk = 50
  let dd = 50
  for (let i = 0; i < c.length; i++) {
    if (i < n - 1) {
      k.push(N)
      d.push(N)
      j.push(N)
      continue
    }
    let highest = Number.NEGATIVE_INFINITY
    let lowest = Number.POSITIVE_INFINITY
    for (let w = i - n + 1; w <= i; w++) {
      highest = Math.max(highest, h[w]!)
      lowest = Math.min(lowest, l[w]!)
    }
    const rsv = highest === lowest ? 50 : ((c[i]! - lowest) / (highest - lowest)) * 100
    kk = (2 * kk + rsv) / 3
    dd = (2 * dd + kk) / 3
    k.push(kk)
    d.push(dd)
    j.push(3 * kk - 2 * dd)
  }
  return { k, d, j }
}

describe('kdj', () => {
  it('matches hand-computed values for n = 3', () => {
    // bar 2: HHV 12, LLV 8, RSV 75 -> K = (100 + 75)/3, D = (100 + K)/3; bar 3: HHV 13, LLV 9, RSV 75
    const out = kdj([10, 11, 12, 13], [8, 9, 10, 11], [9, 10, 11, 12], 3)
    expectSeries(out.k, [N, N, 175 / 3, 575 / 9])
    expectSeries(out.d, [N, N, 475 / 9, 1525 / 27])
    expectSeries(out.j, [N, N, 625 / 9, 2125 / 27])
  })

  it('uses RSV = 50 when HHV = LLV, so flat bars stay at 50', () => {
    const out = kdj([7, 7, 7, 7], [7, 7, 7, 7], [7, 7, 7, 7], 2)
    expectSeries(out.k, [N, 50, 50, 50])
    expectSeries(out.j, [N, 50, 50, 50])
  })

  it('does not clamp J', () => {
    const out = kdj([10, 20, 30], [0, 10, 20], [10, 20, 30], 1)
    expect(out.j[2]!).toBeGreaterThan(100)
  })

  it.each([
    { n: 9, seed: 23, levels: 0 },
    { n: 5, seed: 29, levels: 4 },
    { n: 30, seed: 31, levels: 0 },
  ])('agrees with scanned HHV/LLV for n = $n (levels $levels)', ({ n, seed, levels }) => {
    const bars = randomBars(3_000, seed)
    // Rounding to a few price levels makes many equal highs and lows, the deque's edge case.
    const round = (x: Float64Array) =>
      levels > 0 ? x.map((v) => Math.round(v / levels) * levels) : x
    const [h, l, c] = [round(bars.high), round(bars.low), round(bars.close)]
    const out = kdj(h, l, c, n)
    const expected = naiveKdj(h, l, c, n)
    expectSeries(out.k, expected.k, 0)
    expectSeries(out.d, expected.d, 0)
    expectSeries(out.j, expected.j, 0)
  })

  it('has lookback n - 1', () => {
    expect(kdjLookback()).toBe(8)
    expectSeries(kdj([1, 2], [1, 2], [1, 2]).k, [N, N])
  })

  it('writes into the caller buffers and returns them', () => {
    const out = { k: new Float64Array(4), d: new Float64Array(4), j: new Float64Array(4) }
    expect(kdjInto(out, [10, 11, 12, 13], [8, 9, 10, 11], [9, 10, 11, 12], 3)).toBe(out)
    expectSeries(out.k, [N, N, 175 / 3, 575 / 9])
  })
})
