import { atrInto, atrLookback } from './atr.js'
import { bbandsInto, bbandsLookback } from './bbands.js'
import { emaInto, emaLookback } from './ema.js'
import { IndicatorInputError, UnknownIndicatorError } from './errors.js'
import { kdjInto, kdjLookback } from './kdj.js'
import { macdInto, macdLookback } from './macd.js'
import { rsiInto, rsiLookback } from './rsi.js'
import { type Convention, conventionOf, type IndicatorOptions, type Series } from './series.js'
import { smaInto, smaLookback } from './sma.js'

/** The indicator families an id can name. */
export type IndicatorKind = 'SMA' | 'EMA' | 'MACD' | 'RSI' | 'BBANDS' | 'ATR' | 'KDJ'

/** A series an indicator reads. */
export type InputName = 'high' | 'low' | 'close'

/** One stock's bars; high and low are needed only by ATR and KDJ. */
export interface Bars {
  readonly close: Series
  readonly high?: Series
  readonly low?: Series
}

/** Output buffers keyed by the indicator's output names (`sma`, `macd`/`signal`/`hist`, ...). */
export type IndicatorValues = Readonly<Record<string, Float64Array>>

/** A configured indicator: what it needs, what it writes, and how to compute it. */
export interface Indicator {
  /** Stable id as configured, e.g. `SMA_20`, `MACD`, `BBANDS_20_2`. */
  readonly id: string
  readonly kind: IndicatorKind
  /** Parameters after defaults, e.g. `{ fast: 12, slow: 26, signal: 9 }`. */
  readonly params: Readonly<Record<string, number>>
  /** Short stable output names, in display order. */
  readonly outputs: readonly string[]
  readonly inputs: readonly InputName[]
  /** Leading bars that are NaN in every output. */
  readonly lookback: number
  readonly convention: Convention
  /** Fresh output buffers of `length` bars, to reuse with `computeInto`. */
  allocate(length: number): IndicatorValues
  /** Computes into fresh buffers. */
  compute(bars: Bars): IndicatorValues
  /** Computes into buffers from `allocate` (or any of the bars' length); returns `out`. */
  computeInto(out: IndicatorValues, bars: Bars): IndicatorValues
}

/** The nine indicators the worker computes unless configured otherwise. */
export const DEFAULT_INDICATORS = [
  'SMA_5',
  'SMA_10',
  'SMA_20',
  'SMA_60',
  'MACD',
  'RSI',
  'BBANDS',
  'ATR',
  'KDJ',
] as const

/**
 * Builds an indicator from its id: `SMA_<n>`, `EMA_<n>`, `MACD[_<fast>_<slow>_<signal>]`, `RSI[_<n>]`,
 * `BBANDS[_<n>_<k>]`, `ATR[_<n>]`, `KDJ[_<n>_<m1>_<m2>]`; trailing parameters may be left to defaults.
 */
export function indicatorById(id: string, options?: IndicatorOptions): Indicator {
  const [name = '', ...tokens] = id.split('_')
  const spec = Object.hasOwn(SPECS, name) ? SPECS[name as IndicatorKind] : undefined
  if (
    spec === undefined ||
    tokens.length > spec.params.length ||
    tokens.length < spec.required ||
    !tokens.every((token) => NUMBER.test(token))
  ) {
    throw new UnknownIndicatorError(id)
  }
  const params: Record<string, number> = {}
  spec.params.forEach((param, i) => {
    params[param] = tokens[i] === undefined ? spec.defaults[i]! : Number(tokens[i])
  })
  const convention = conventionOf(name.toLowerCase(), options)
  const callOptions = { convention }
  const lookback = spec.lookback(params, callOptions)
  const allocate = (length: number): IndicatorValues =>
    Object.fromEntries(spec.outputs.map((output) => [output, new Float64Array(length)]))
  const computeInto = (out: IndicatorValues, bars: Bars): IndicatorValues => {
    spec.into(out, bars, params, callOptions)
    return out
  }
  return Object.freeze({
    id,
    kind: name as IndicatorKind,
    params: Object.freeze(params),
    outputs: spec.outputs,
    inputs: spec.inputs,
    lookback,
    convention,
    allocate,
    compute: (bars: Bars) => computeInto(allocate(bars.close.length), bars),
    computeInto,
  })
}

/** Parses a comma-separated id list (or an array of ids), e.g. `'SMA_5,RSI,EMA_12'`; duplicates are dropped. */
export function resolveIndicators(
  list: string | readonly string[],
  options?: IndicatorOptions,
): readonly Indicator[] {
  const ids = (typeof list === 'string' ? list.split(',') : list).map((id) => id.trim())
  return [...new Set(ids)].map((id) => indicatorById(id, options))
}

// ---- Specs ----

type Params = Readonly<Record<string, number>>

interface Spec {
  readonly params: readonly string[]
  readonly defaults: readonly number[]
  // How many leading parameters the id must spell out.
  readonly required: number
  readonly outputs: readonly string[]
  readonly inputs: readonly InputName[]
  lookback(p: Params, options: IndicatorOptions): number
  into(out: IndicatorValues, bars: Bars, p: Params, options: IndicatorOptions): void
}

const CLOSE: readonly InputName[] = Object.freeze(['close'])
const HLC: readonly InputName[] = Object.freeze(['high', 'low', 'close'])
const NUMBER = /^\d+(\.\d+)?$/

const SPECS: Readonly<Record<IndicatorKind, Spec>> = {
  SMA: {
    params: ['n'],
    defaults: [],
    required: 1,
    outputs: ['sma'],
    inputs: CLOSE,
    lookback: (p) => smaLookback(p.n!),
    into: (out, bars, p) => smaInto(out.sma!, bars.close, p.n!),
  },
  EMA: {
    params: ['n'],
    defaults: [],
    required: 1,
    outputs: ['ema'],
    inputs: CLOSE,
    lookback: (p, options) => emaLookback(p.n!, options),
    into: (out, bars, p, options) => emaInto(out.ema!, bars.close, p.n!, options),
  },
  MACD: {
    params: ['fast', 'slow', 'signal'],
    defaults: [12, 26, 9],
    required: 0,
    outputs: ['macd', 'signal', 'hist'],
    inputs: CLOSE,
    lookback: (p, options) => macdLookback(p.fast, p.slow, p.signal, options),
    into: (out, bars, p, options) =>
      macdInto(
        { macd: out.macd!, signal: out.signal!, hist: out.hist! },
        bars.close,
        p.fast,
        p.slow,
        p.signal,
        options,
      ),
  },
  RSI: {
    params: ['n'],
    defaults: [14],
    required: 0,
    outputs: ['rsi'],
    inputs: CLOSE,
    lookback: (p) => rsiLookback(p.n),
    into: (out, bars, p) => rsiInto(out.rsi!, bars.close, p.n),
  },
  BBANDS: {
    params: ['n', 'k'],
    defaults: [20, 2],
    required: 0,
    outputs: ['upper', 'middle', 'lower'],
    inputs: CLOSE,
    lookback: (p) => bbandsLookback(p.n, p.k),
    into: (out, bars, p) =>
      bbandsInto(
        { upper: out.upper!, middle: out.middle!, lower: out.lower! },
        bars.close,
        p.n,
        p.k,
      ),
  },
  ATR: {
    params: ['n'],
    defaults: [14],
    required: 0,
    outputs: ['atr'],
    inputs: HLC,
    lookback: (p, options) => atrLookback(p.n, options),
    into: (out, bars, p, options) =>
      atrInto(
        out.atr!,
        need(bars, 'high', 'atr'),
        need(bars, 'low', 'atr'),
        bars.close,
        p.n,
        options,
      ),
  },
  KDJ: {
    params: ['n', 'm1', 'm2'],
    defaults: [9, 3, 3],
    required: 0,
    outputs: ['k', 'd', 'j'],
    inputs: HLC,
    lookback: (p) => kdjLookback(p.n, p.m1, p.m2),
    into: (out, bars, p) =>
      kdjInto(
        { k: out.k!, d: out.d!, j: out.j! },
        need(bars, 'high', 'kdj'),
        need(bars, 'low', 'kdj'),
        bars.close,
        p.n,
        p.m1,
        p.m2,
      ),
  },
}

function need(bars: Bars, input: 'high' | 'low', fn: string): Series {
  const series = bars[input]
  if (series === undefined) {
    throw new IndicatorInputError(
      input,
      -1,
      'missing',
      `${fn} needs high, low and close; ${input} is missing`,
    )
  }
  return series
}
