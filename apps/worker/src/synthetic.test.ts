import { describe, expect, it } from 'vitest'
import { isoDate, weekday } from './bars.js'
import {
  createSyntheticLoader,
  NAN_BAR_SLOT,
  SHORT_HISTORY_DAYS,
  SHORT_HISTORY_SLOT,
  syntheticCodes,
} from './synthetic.js'

const spec = { seed: 7, days: 250, date: '2026-01-10' }

describe('synthetic', () => {
  it('makes A-share-like codes on three boards', () => {
    expect(syntheticCodes(7)).toEqual([
      '000001',
      '600000',
      '300001',
      '000002',
      '600001',
      '300002',
      '000003',
    ])
    expect(new Set(syntheticCodes(100_000)).size).toBe(100_000)
  })

  it('is deterministic in (seed, index) and differs between stocks and seeds', () => {
    const a = createSyntheticLoader(spec)('000001', 0)
    const b = createSyntheticLoader(spec)('000001', 0)
    expect(Array.from(b.data)).toEqual(Array.from(a.data))
    expect(Array.from(createSyntheticLoader(spec)('600000', 1).close)).not.toEqual(
      Array.from(a.close),
    )
    const reseeded = createSyntheticLoader({ ...spec, seed: 8 })('000001', 0)
    expect(Array.from(reseeded.close)).not.toEqual(Array.from(a.close))
  })

  it('walks within the daily limits with consistent OHLCV bars on weekdays ending at the date', () => {
    const load = createSyntheticLoader(spec)
    const problems: string[] = []
    let suspendedStocks = 0
    for (let index = 0; index < 300; index++) {
      if (index === SHORT_HISTORY_SLOT) continue
      const bars = load('x', index)
      const n = bars.close.length
      if (n < spec.days) suspendedStocks++
      for (let i = 0; i < n; i++) {
        const open = bars.open[i]!
        const high = bars.high[i]!
        const low = bars.low[i]!
        const close = bars.close[i]!
        const at = `stock ${index} bar ${i}`
        if (high < Math.max(open, close)) problems.push(`${at}: high below open or close`)
        if (low > Math.min(open, close)) problems.push(`${at}: low above open or close`)
        if (!(low > 0) || !(bars.volume[i]! > 0)) problems.push(`${at}: not positive`)
        if ([0, 6].includes(weekday(bars.dates[i]!))) problems.push(`${at}: weekend`)
        if (i === 0) continue
        const previous = bars.close[i - 1]!
        if (close > Math.round(previous * 110) / 100) problems.push(`${at}: above the limit`)
        if (close < Math.round(previous * 90) / 100) problems.push(`${at}: below the limit`)
        if (bars.dates[i]! <= bars.dates[i - 1]!) problems.push(`${at}: date not increasing`)
      }
      if (isoDate(bars.dates[n - 1]!) > '2026-01-09')
        problems.push(`stock ${index}: after the date`)
    }
    expect(problems).toEqual([])
    expect(suspendedStocks).toBeGreaterThan(30)
  })

  it('plants a short history and a NaN high in fixed slots', () => {
    const load = createSyntheticLoader(spec)
    const short = load('x', SHORT_HISTORY_SLOT)
    expect(short.close.length).toBeLessThanOrEqual(SHORT_HISTORY_DAYS)
    const nan = load('x', NAN_BAR_SLOT)
    const bad = Array.from(nan.high).filter(Number.isNaN)
    expect(bad).toHaveLength(1)
    expect(Array.from(nan.close).every(Number.isFinite)).toBe(true)
  })
})
