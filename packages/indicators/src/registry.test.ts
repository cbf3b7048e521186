import { describe, expect, it } from 'vitest'
import { atr } from './atr.js'
import { bbands } from './bbands.js'
import { ema } from './ema.js'
import { IndicatorInputError, IndicatorParamError, UnknownIndicatorError } from './errors.js'
import { kdj } from './kdj.js'
import { macd } from './macd.js'
import { DEFAULT_INDICATORS, indicatorById, resolveIndicators } from './registry.js'
import { rsi } from './rsi.js'
import { sma } from './sma.js'
import { randomBars } from './test-support/series.js'

const bars = randomBars(300, 37)

describe('registry', () => {
  it.each([
    { id: 'SMA_5', params: { n: 5 }, outputs: ['sma'], inputs: ['close'], lookback: 4 },
    { id: 'SMA_60', params: { n: 60 }, outputs: ['sma'], inputs: ['close'], lookback: 59 },
    {
      id: 'MACD',
      params: { fast: 12, slow: 26, signal: 9 },
      outputs: ['macd', 'signal', 'hist'],
      inputs: ['close'],
      lookback: 33,
    },
    { id: 'RSI', params: { n: 14 }, outputs: ['rsi'], inputs: ['close'], lookback: 14 },
    {
      id: 'BBANDS',
      params: { n: 20, k: 2 },
      outputs: ['upper', 'middle', 'lower'],
      inputs: ['close'],
      lookback: 19,
    },
    {
      id: 'ATR',
      params: { n: 14 },
      outputs: ['atr'],
      inputs: ['high', 'low', 'close'],
      lookback: 14,
    },
    {
      id: 'KDJ',
      params: { n: 9, m1: 3, m2: 3 },
      outputs: ['k', 'd', 'j'],
      inputs: ['high', 'low', 'close'],
      lookback: 8,
    },
    { id: 'EMA_12', params: { n: 12 }, outputs: ['ema'], inputs: ['close'], lookback: 11 },
    { id: 'SMA_30', params: { n: 30 }, outputs: ['sma'], inputs: ['close'], lookback: 29 },
    {
      id: 'BBANDS_10_2.5',
      params: { n: 10, k: 2.5 },
      outputs: ['upper', 'middle', 'lower'],
      inputs: ['close'],
      lookback: 9,
    },
    {
      id: 'MACD_5_35',
      params: { fast: 5, slow: 35, signal: 9 },
      outputs: ['macd', 'signal', 'hist'],
      inputs: ['close'],
      lookback: 42,
    },
  ])('$id has params $params, outputs $outputs, lookback $lookback', (expected) => {
    const indicator = indicatorById(expected.id)
    expect(indicator).toMatchObject({ ...expected, convention: 'talib' })
    expect(Object.isFrozen(indicator)).toBe(true)
  })

  it('resolves the nine defaults in order', () => {
    expect(DEFAULT_INDICATORS).toEqual([
      'SMA_5',
      'SMA_10',
      'SMA_20',
      'SMA_60',
      'MACD',
      'RSI',
      'BBANDS',
      'ATR',
      'KDJ',
    ])
    expect(resolveIndicators(DEFAULT_INDICATORS).map((i) => i.id)).toEqual(DEFAULT_INDICATORS)
  })

  it('parses a comma-separated list, trimming spaces and dropping duplicates', () => {
    const ids = resolveIndicators(' SMA_30, EMA_12 ,RSI,SMA_30').map((i) => i.id)
    expect(ids).toEqual(['SMA_30', 'EMA_12', 'RSI'])
  })

  it.each([
    'FOO',
    'SMA',
    'SMA_x',
    'sma_5',
    'SMA_-5',
    'RSI_14_2',
    'MACD_12_26_9_1',
    '',
    'constructor',
  ])('rejects %j with UnknownIndicatorError', (id) => {
    expect(() => indicatorById(id)).toThrow(UnknownIndicatorError)
    expect(() => resolveIndicators(`RSI,${id}`)).toThrow(
      `Unknown indicator id '${id}': expected SMA_<n>, EMA_<n>, MACD[_<fast>_<slow>_<signal>], ` +
        'RSI[_<n>], BBANDS[_<n>_<k>], ATR[_<n>] or KDJ[_<n>_<m1>_<m2>]',
    )
  })

  it.each([
    { id: 'SMA_1', message: 'sma: n must be an integer from 2 to 100000, got 1' },
    { id: 'MACD_26_12', message: 'macd: fast must be less than slow, got fast=26 slow=12' },
    { id: 'KDJ_9_0', message: 'kdj: m1 must be an integer from 1 to 100000, got 0' },
  ])('rejects out-of-range parameters in $id with IndicatorParamError', ({ id, message }) => {
    expect(() => indicatorById(id)).toThrow(IndicatorParamError)
    expect(() => indicatorById(id)).toThrow(message)
  })

  it.each([
    { id: 'SMA_20', direct: () => ({ sma: sma(bars.close, 20) }) },
    { id: 'EMA_12', direct: () => ({ ema: ema(bars.close, 12) }) },
    { id: 'MACD', direct: () => macd(bars.close) },
    { id: 'RSI', direct: () => ({ rsi: rsi(bars.close) }) },
    { id: 'BBANDS', direct: () => bbands(bars.close) },
    { id: 'ATR', direct: () => ({ atr: atr(bars.high, bars.low, bars.close) }) },
    { id: 'KDJ', direct: () => kdj(bars.high, bars.low, bars.close) },
  ])('$id computes what the function computes', ({ id, direct }) => {
    expect(indicatorById(id).compute(bars)).toEqual(direct())
  })

  it('computeInto reuses the buffers from allocate', () => {
    const indicator = indicatorById('KDJ')
    const out = indicator.allocate(300)
    const k = out.k
    const other = randomBars(300, 41)
    expect(indicator.computeInto(out, other)).toBe(out)
    expect(out.k).toBe(k)
    expect(out).toEqual(indicator.compute(other))
  })

  it('rejects hlc indicators without high or low', () => {
    const error = (() => {
      try {
        indicatorById('ATR').compute({ close: bars.close, low: bars.low })
      } catch (caught) {
        return caught
      }
    })()
    expect(error).toBeInstanceOf(IndicatorInputError)
    expect(error).toMatchObject({
      input: 'high',
      index: -1,
      reason: 'missing',
      message: 'atr needs high, low and close; high is missing',
    })
  })

  it('applies the tdx convention to every indicator it builds', () => {
    const [macdTdx, smaTdx] = resolveIndicators('MACD,SMA_5', { convention: 'tdx' })
    expect(macdTdx).toMatchObject({ convention: 'tdx', lookback: 0 })
    expect(smaTdx).toMatchObject({ convention: 'tdx', lookback: 4 })
    expect(macdTdx!.compute(bars)).toEqual(macd(bars.close, 12, 26, 9, { convention: 'tdx' }))
  })
})
