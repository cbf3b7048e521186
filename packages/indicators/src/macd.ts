import { IndicatorParamError } from './errors.js'
import {
  checkOutput,
  checkPeriod,
  conventionOf,
  finiteSeries,
  type IndicatorOptions,
  type Series,
} from './series.js'

/** MACD line (fast EMA - slow EMA), its signal EMA and the histogram. */
export interface MacdOutput {
  readonly macd: Float64Array
  readonly signal: Float64Array
  readonly hist: Float64Array
}

/** Bars before the first MACD value: slow - 1 + signal - 1 (33 for 12/26/9) for TA-Lib, 0 for tdx. */
export function macdLookback(fast = 12, slow = 26, signal = 9, options?: IndicatorOptions): number {
  checkPeriod('macd', 'fast', fast, 2)
  checkPeriod('macd', 'slow', slow, 2)
  checkPeriod('macd', 'signal', signal, 1)
  if (fast >= slow) {
    throw new IndicatorParamError(
      'macd',
      'fast',
      fast,
      `macd: fast must be less than slow, got fast=${fast} slow=${slow}`,
    )
  }
  return conventionOf('macd', options) === 'talib' ? slow - 1 + signal - 1 : 0
}

/**
 * MACD as TA-Lib: both EMA seeds end on bar slow-1, signal seeded with the mean of the first `signal`
 * MACD values, hist = macd - signal. tdx: EMAs seeded with the first close, hist = 2 * (macd - signal).
 */
export function macd(
  close: Series,
  fast = 12,
  slow = 26,
  signal = 9,
  options?: IndicatorOptions,
): MacdOutput {
  const length = close.length
  const out = {
    macd: new Float64Array(length),
    signal: new Float64Array(length),
    hist: new Float64Array(length),
  }
  return macdInto(out, close, fast, slow, signal, options)
}

/** `macd` writing into caller-provided buffers of the input's length; returns `out`. */
export function macdInto(
  out: MacdOutput,
  close: Series,
  fast = 12,
  slow = 26,
  signal = 9,
  options?: IndicatorOptions,
): MacdOutput {
  const lookback = macdLookback(fast, slow, signal, options)
  const length = close.length
  checkOutput('macd', 'out.macd', out.macd, length, [close])
  checkOutput('macd', 'out.signal', out.signal, length, [close])
  checkOutput('macd', 'out.hist', out.hist, length, [close])
  const x = finiteSeries(close, 'close')
  const head = Math.min(lookback, length)
  out.macd.fill(Number.NaN, 0, head)
  out.signal.fill(Number.NaN, 0, head)
  out.hist.fill(Number.NaN, 0, head)
  if (lookback > 0) macdTalib(out, x, fast, slow, signal)
  else macdTdx(out, x, fast, slow, signal)
  return out
}

// ---- Kernels ----

function macdTalib(
  out: MacdOutput,
  x: Float64Array,
  fast: number,
  slow: number,
  signal: number,
): void {
  const length = x.length
  const lookback = slow - 1 + signal - 1
  if (lookback >= length) return
  const { macd: macdOut, signal: signalOut, hist: histOut } = out
  const kSlow = 2 / (slow + 1)
  const kFast = 2 / (fast + 1)
  const kSignal = 2 / (signal + 1)
  let slowSum = 0
  for (let i = 0; i < slow; i++) slowSum += x[i]!
  let fastSum = 0
  for (let i = slow - fast; i < slow; i++) fastSum += x[i]!
  let slowEma = slowSum / slow
  let fastEma = fastSum / fast
  let signalSum = fastEma - slowEma
  for (let i = slow; i <= lookback; i++) {
    const value = x[i]!
    slowEma = (value - slowEma) * kSlow + slowEma
    fastEma = (value - fastEma) * kFast + fastEma
    signalSum += fastEma - slowEma
  }
  let line = fastEma - slowEma
  let signalEma = signalSum / signal
  macdOut[lookback] = line
  signalOut[lookback] = signalEma
  histOut[lookback] = line - signalEma
  for (let i = lookback + 1; i < length; i++) {
    const value = x[i]!
    slowEma = (value - slowEma) * kSlow + slowEma
    fastEma = (value - fastEma) * kFast + fastEma
    line = fastEma - slowEma
    signalEma = (line - signalEma) * kSignal + signalEma
    macdOut[i] = line
    signalOut[i] = signalEma
    histOut[i] = line - signalEma
  }
}

function macdTdx(
  out: MacdOutput,
  x: Float64Array,
  fast: number,
  slow: number,
  signal: number,
): void {
  const length = x.length
  if (length === 0) return
  const { macd: macdOut, signal: signalOut, hist: histOut } = out
  let fastEma = x[0]!
  let slowEma = fastEma
  let signalEma = 0
  macdOut[0] = 0
  signalOut[0] = 0
  histOut[0] = 0
  for (let i = 1; i < length; i++) {
    const value = x[i]!
    fastEma = (2 * value + (fast - 1) * fastEma) / (fast + 1)
    slowEma = (2 * value + (slow - 1) * slowEma) / (slow + 1)
    const line = fastEma - slowEma
    signalEma = (2 * line + (signal - 1) * signalEma) / (signal + 1)
    macdOut[i] = line
    signalOut[i] = signalEma
    histOut[i] = 2 * (line - signalEma)
  }
}
