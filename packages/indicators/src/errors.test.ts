import { describe, expect, it } from 'vitest'
import { atr, atrLookback } from './atr.js'
import { bbands, bbandsLookback } from './bbands.js'
import { ema, emaLookback } from './ema.js'
import { IndicatorInputError, IndicatorParamError } from './errors.js'
import { kdj, kdjLookback } from './kdj.js'
import { macd, macdInto, macdLookback } from './macd.js'
import { rsi, rsiLookback } from './rsi.js'
import type { Convention, IndicatorOptions } from './series.js'
import { sma, smaInto, smaLookback } from './sma.js'
import { firstValue, randomBars } from './test-support/series.js'

const close = [1, 2, 3, 4]
const high = [2, 3, 4, 5]
const low = [0, 1, 2, 3]

describe('errors', () => {
  it.each([
    {
      call: () => sma([1, 2, Number.NaN, 4], 2),
      input: 'close',
      index: 2,
      reason: 'not-finite',
      message: 'close[2] is NaN: indicator inputs must be finite numbers',
    },
    {
      call: () => ema(new Float64Array([1, Number.POSITIVE_INFINITY, 3]), 2),
      input: 'close',
      index: 1,
      reason: 'not-finite',
      message: 'close[1] is Infinity: indicator inputs must be finite numbers',
    },
    {
      call: () => rsi([Number.NEGATIVE_INFINITY, 1, 2]),
      input: 'close',
      index: 0,
      reason: 'not-finite',
      message: 'close[0] is -Infinity: indicator inputs must be finite numbers',
    },
    {
      call: () => atr([2, Number.NaN, 4, 5], low, close),
      input: 'high',
      index: 1,
      reason: 'not-finite',
      message: 'high[1] is NaN: indicator inputs must be finite numbers',
    },
    {
      call: () => kdj(high, [0, 1, 2], close),
      input: 'low',
      index: 3,
      reason: 'length-mismatch',
      message: 'low has 3 bars but close has 4: high, low and close must have the same length',
    },
    {
      call: () => atr([1, 2, 3, 4, 5], low, close),
      input: 'high',
      index: 4,
      reason: 'length-mismatch',
      message: 'high has 5 bars but close has 4: high, low and close must have the same length',
    },
  ])('IndicatorInputError: $message', ({ call, input, index, reason, message }) => {
    const error = catchError(call)
    expect(error).toBeInstanceOf(IndicatorInputError)
    expect(error).toMatchObject({ name: 'IndicatorInputError', input, index, reason, message })
  })

  it.each([
    { call: () => sma(close, 1), message: 'sma: n must be an integer from 2 to 100000, got 1' },
    {
      call: () => smaLookback(2.5),
      message: 'sma: n must be an integer from 2 to 100000, got 2.5',
    },
    {
      call: () => ema(close, 100_001),
      message: 'ema: n must be an integer from 2 to 100000, got 100001',
    },
    { call: () => rsi(close, 1), message: 'rsi: n must be an integer from 2 to 100000, got 1' },
    {
      call: () => atr(high, low, close, 0),
      message: 'atr: n must be an integer from 1 to 100000, got 0',
    },
    {
      call: () => kdj(high, low, close, 9, 0),
      message: 'kdj: m1 must be an integer from 1 to 100000, got 0',
    },
    {
      call: () => macd(close, 26, 12),
      message: 'macd: fast must be less than slow, got fast=26 slow=12',
    },
    {
      call: () => macd(close, 12, 26, 0),
      message: 'macd: signal must be an integer from 1 to 100000, got 0',
    },
    {
      call: () => bbands(close, 20, -1),
      message: 'bbands: k must be a finite number >= 0, got -1',
    },
    {
      call: () => ema(close, 3, { convention: 'metastock' as Convention }),
      message: "ema: convention must be 'talib' or 'tdx', got metastock",
    },
    {
      call: () => smaInto(new Float64Array(3), close, 2),
      message: 'sma: out must be a Float64Array of length 4, got length 3',
    },
    {
      call: () => {
        const series = new Float64Array(close)
        smaInto(series, series, 2)
      },
      message: 'sma: out must not be an input series',
    },
    {
      call: () =>
        macdInto({ macd: new Float64Array(4), hist: new Float64Array(4) } as never, close),
      message: 'macd: out.signal must be a Float64Array of length 4, got undefined',
    },
  ])('IndicatorParamError: $message', ({ call, message }) => {
    const error = catchError(call)
    expect(error).toBeInstanceOf(IndicatorParamError)
    expect(error).toMatchObject({ name: 'IndicatorParamError', message })
  })

  // Every function on exactly `lookback` bars gives all NaN, and one more bar gives one value.
  const talib: IndicatorOptions = { convention: 'talib' }
  it.each([
    { name: 'sma', lookback: smaLookback(20), run: (b: Bars) => [sma(b.close, 20)] },
    { name: 'ema', lookback: emaLookback(12, talib), run: (b: Bars) => [ema(b.close, 12)] },
    { name: 'macd', lookback: macdLookback(), run: (b: Bars) => Object.values(macd(b.close)) },
    { name: 'rsi', lookback: rsiLookback(), run: (b: Bars) => [rsi(b.close)] },
    {
      name: 'bbands',
      lookback: bbandsLookback(),
      run: (b: Bars) => Object.values(bbands(b.close)),
    },
    { name: 'atr', lookback: atrLookback(), run: (b: Bars) => [atr(b.high, b.low, b.close)] },
    {
      name: 'kdj',
      lookback: kdjLookback(),
      run: (b: Bars) => Object.values(kdj(b.high, b.low, b.close)),
    },
  ])('$name: $lookback bars are all NaN, one more bar gives one value', ({ lookback, run }) => {
    for (const series of run(randomBars(lookback, 3))) expect(firstValue(series)).toBe(lookback)
    for (const series of run(randomBars(lookback + 1, 3))) {
      expect(firstValue(series)).toBe(lookback)
      expect(series.length).toBe(lookback + 1)
    }
  })
})

type Bars = ReturnType<typeof randomBars>

function catchError(call: () => unknown): unknown {
  try {
    call()
  } catch (error) {
    return error
  }
  throw new Error('expected the call to throw')
}
