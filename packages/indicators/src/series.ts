import { IndicatorInputError, IndicatorParamError } from './errors.js'

/** A price series: a Float64Array is used as is, a number array is copied once. */
export type Series = Float64Array | readonly number[]

/** Which formulas to follow: TA-Lib (default) or 通达信 (tdx). */
export type Convention = 'talib' | 'tdx'

/** Per-call options; only EMA, MACD and ATR differ between conventions. */
export interface IndicatorOptions {
  readonly convention?: Convention
}

/** Resolves the convention from per-call options. */
export function conventionOf(fn: string, options: IndicatorOptions | undefined): Convention {
  const convention = options?.convention ?? 'talib'
  if (convention !== 'talib' && convention !== 'tdx') {
    throw new IndicatorParamError(
      fn,
      'convention',
      convention,
      `${fn}: convention must be 'talib' or 'tdx', got ${String(convention)}`,
    )
  }
  return convention
}

/** Converts to Float64Array and rejects NaN or Infinity with the first bad index. */
export function finiteSeries(values: Series, name: string): Float64Array {
  const series = values instanceof Float64Array ? values : Float64Array.from(values)
  const length = series.length
  for (let i = 0; i < length; i++) {
    const value = series[i]!
    if (!Number.isFinite(value)) {
      throw new IndicatorInputError(
        name,
        i,
        'not-finite',
        `${name}[${i}] is ${value}: indicator inputs must be finite numbers`,
      )
    }
  }
  return series
}

/** Converts high, low and close, checking that they are finite and of one length. */
export function finiteHlc(
  high: Series,
  low: Series,
  close: Series,
): [Float64Array, Float64Array, Float64Array] {
  const length = close.length
  for (const [name, series] of [
    ['high', high],
    ['low', low],
  ] as const) {
    if (series.length !== length) {
      throw new IndicatorInputError(
        name,
        Math.min(series.length, length),
        'length-mismatch',
        `${name} has ${series.length} bars but close has ${length}: high, low and close must have the same length`,
      )
    }
  }
  return [finiteSeries(high, 'high'), finiteSeries(low, 'low'), finiteSeries(close, 'close')]
}

/** Checks that a period is an integer >= min. */
export function checkPeriod(fn: string, param: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min || value > MAX_PERIOD) {
    throw new IndicatorParamError(
      fn,
      param,
      value,
      `${fn}: ${param} must be an integer from ${min} to ${MAX_PERIOD}, got ${value}`,
    )
  }
}

/** Checks that a caller-provided output buffer fits and is not one of the inputs. */
export function checkOutput(
  fn: string,
  param: string,
  out: Float64Array,
  length: number,
  inputs: readonly Series[],
): void {
  if (!(out instanceof Float64Array) || out.length !== length) {
    const got = out instanceof Float64Array ? `length ${out.length}` : typeof out
    throw new IndicatorParamError(
      fn,
      param,
      out,
      `${fn}: ${param} must be a Float64Array of length ${length}, got ${got}`,
    )
  }
  if (inputs.includes(out)) {
    throw new IndicatorParamError(fn, param, out, `${fn}: ${param} must not be an input series`)
  }
}

/** Windowed sums are recomputed from scratch at least this often, so rounding cannot drift. */
export const RECOMPUTE_EVERY = 128

/** Largest period accepted, as TA-Lib. */
export const MAX_PERIOD = 100_000

/** Shared scratch space for index deques; grown, never shrunk, never kept across calls. */
export function scratchInt32(slot: 0 | 1, length: number): Int32Array {
  return scratch(int32Slots, slot, length, (size) => new Int32Array(size))
}

/** Shared Float64 scratch space; grown, never shrunk, never kept across calls. */
export function scratchFloat64(slot: 0 | 1, length: number): Float64Array {
  return scratch(float64Slots, slot, length, (size) => new Float64Array(size))
}

const int32Slots: Int32Array[] = [new Int32Array(1024), new Int32Array(1024)]
const float64Slots: Float64Array[] = [new Float64Array(1024), new Float64Array(1024)]

function scratch<T extends Int32Array | Float64Array>(
  slots: T[],
  slot: 0 | 1,
  length: number,
  create: (size: number) => T,
): T {
  let buffer = slots[slot]!
  if (buffer.length < length) {
    buffer = create(Math.max(length, buffer.length * 2))
    slots[slot] = buffer
  }
  return buffer
}
