// Compares @stockpulse/indicators (built dist) against the TA-Lib C library through the `talib`
// binding on random walks of 10 to 10,000 bars; prints the max relative error per output and
// exits 1 when a gated error exceeds 1e-9. Run: pnpm --filter @stockpulse/indicators check:talib
import { createRequire } from 'node:module'
import { atr, bbands, ema, kdj, macd, rsi, sma } from '../dist/index.js'
import { walk } from './series.mjs'

const talib = createRequire(import.meta.url)('talib')
const LIMIT = 1e-9

const scenarios = [
  { name: '@100', start: 100, flat: 0 },
  { name: '@0.01', start: 0.01, flat: 0 },
  { name: '@1e6', start: 1e6, flat: 0 },
  { name: '@100 flat', start: 100, flat: 0.02 },
  { name: '@0.01 flat', start: 0.01, flat: 0.02 },
  { name: '@1e6 flat', start: 1e6, flat: 0.02 },
]
const lengths = [10, 11, 12, 20, 26, 34, 35, 60, 100, 250, 1000, 2500, 10_000]
const seeds = 8

/** Max of |a - b| / |b| over bars where the reference is defined; both NaN elsewhere. */
const errors = new Map()
function record(key, ours, reference, begin) {
  let worst = errors.get(key) ?? 0
  for (let i = 0; i < ours.length; i++) {
    const b = i < begin ? Number.NaN : reference[i - begin]
    if (Number.isNaN(b)) {
      if (!Number.isNaN(ours[i])) worst = Number.POSITIVE_INFINITY
      continue
    }
    const a = ours[i]
    const error = a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(b), Number.MIN_VALUE)
    if (!(error <= worst)) worst = error
  }
  errors.set(key, worst)
}

function ta(name, inputs, params) {
  const endIdx = inputs.inReal?.length ?? inputs.close.length
  const result = talib.execute({ name, startIdx: 0, endIdx: endIdx - 1, ...inputs, ...params })
  if (result.error) throw new Error(`talib ${name}: ${result.error}`)
  return result
}

for (const scenario of scenarios) {
  for (const length of lengths) {
    for (let seed = 1; seed <= seeds; seed++) {
      const { high, low, close } = walk(length, scenario.start, seed * 7919 + length, scenario.flat)
      const key = (id, output) => `${id}\t${output}\t${scenario.name}`
      const inReal = Array.from(close)
      const hlc = { high: Array.from(high), low: Array.from(low), close: inReal }
      for (const n of [5, 10, 20, 60]) {
        const r = ta('SMA', { inReal }, { optInTimePeriod: n })
        record(key(`SMA_${n}`, 'sma'), sma(close, n), r.result.outReal, r.begIndex)
      }
      for (const n of [12, 26]) {
        const r = ta('EMA', { inReal }, { optInTimePeriod: n })
        record(key(`EMA_${n}`, 'ema'), ema(close, n), r.result.outReal, r.begIndex)
      }
      {
        const r = ta(
          'MACD',
          { inReal },
          { optInFastPeriod: 12, optInSlowPeriod: 26, optInSignalPeriod: 9 },
        )
        const ours = macd(close)
        record(key('MACD', 'macd'), ours.macd, r.result.outMACD, r.begIndex)
        record(key('MACD', 'signal'), ours.signal, r.result.outMACDSignal, r.begIndex)
        record(key('MACD', 'hist'), ours.hist, r.result.outMACDHist, r.begIndex)
      }
      {
        const r = ta('RSI', { inReal }, { optInTimePeriod: 14 })
        record(key('RSI', 'rsi'), rsi(close), r.result.outReal, r.begIndex)
      }
      {
        const r = ta(
          'BBANDS',
          { inReal },
          { optInTimePeriod: 20, optInNbDevUp: 2, optInNbDevDn: 2, optInMAType: 0 },
        )
        const ours = bbands(close)
        record(key('BBANDS', 'middle'), ours.middle, r.result.outRealMiddleBand, r.begIndex)
        record(key('BBANDS', 'upper'), ours.upper, r.result.outRealUpperBand, r.begIndex)
        record(key('BBANDS', 'lower'), ours.lower, r.result.outRealLowerBand, r.begIndex)
        record(key('BBANDS*', 'upper'), ours.upper, exactUpper(close, 20, 2), 0)
        record(key('BBANDS*', 'TA-Lib upper'), upperAligned(r), exactUpper(close, 20, 2), 0)
      }
      {
        const r = ta('ATR', hlc, { optInTimePeriod: 14 })
        record(key('ATR', 'atr'), atr(high, low, close), r.result.outReal, r.begIndex)
      }
      {
        const ours = kdj(high, low, close)
        const reference = kdjFromTalibExtremes(hlc, 9)
        record(key('KDJ*', 'k'), ours.k, reference.k, 0)
        record(key('KDJ*', 'd'), ours.d, reference.d, 0)
        record(key('KDJ*', 'j'), ours.j, reference.j, 0)
      }
    }
  }
}

// ---- Report ----

/** BBANDS bands vs TA-Lib are not gated on flat stretches, where TA-Lib itself is off (see below). */
const gated = (id, output, scenario) =>
  !(scenario.flat > 0 && ((id === 'BBANDS' && output !== 'middle') || output === 'TA-Lib upper'))
const table = new Map()
for (const [key, error] of errors) {
  const [id, output, name] = key.split('\t')
  const row = table.get(`${id}\t${output}`) ?? new Map()
  row.set(name, error)
  table.set(`${id}\t${output}`, row)
}
let failed = false
console.log(
  `max relative error vs TA-Lib C (talib ${talib.version}), lengths ${lengths.join(',')} x ${seeds} seeds\n`,
)
console.log(`| indicator | output | ${scenarios.map((s) => s.name).join(' | ')} |`)
console.log(`| --- | --- | ${scenarios.map(() => '---:').join(' | ')} |`)
for (const [key, row] of table) {
  const [id, output] = key.split('\t')
  const cells = scenarios.map((scenario) => {
    const error = row.get(scenario.name)
    const text = error.toExponential(1)
    if (!gated(id, output, scenario)) return `(${text})`
    if (error <= LIMIT) return text
    failed = true
    return `**${text} FAIL**`
  })
  console.log(`| ${id} | ${output} | ${cells.join(' | ')} |`)
}
console.log(
  `\nGate: every unbracketed cell <= ${LIMIT}; (bracketed) cells are reported, not gated.` +
    '\nBBANDS* = vs a two-pass mean/variance per window; "TA-Lib upper" = TA-Lib itself vs that reference:' +
    '\nTA-Lib keeps a running sum of squares, so on flat stretches its band width is rounding noise' +
    '\n(e.g. 0.09 for a constant 1000000.123) while ours is 0. KDJ* (not in TA-Lib) = TA-Lib MAX/MIN' +
    '\nfor HHV/LLV plus the 通达信 recursion.',
)
console.log(failed ? '\nFAIL' : '\nOK')
process.exitCode = failed ? 1 : 0

// ---- References ----

function upperAligned(r) {
  const out = new Float64Array(r.begIndex + r.nbElement).fill(Number.NaN)
  out.set(r.result.outRealUpperBand, r.begIndex)
  return out
}

function exactUpper(close, n, k) {
  const out = new Float64Array(close.length).fill(Number.NaN)
  for (let i = n - 1; i < close.length; i++) {
    let sum = 0
    for (let j = i - n + 1; j <= i; j++) sum += close[j]
    const mean = sum / n
    let squares = 0
    for (let j = i - n + 1; j <= i; j++) squares += (close[j] - mean) ** 2
    const variance = squares / n
    out[i] = mean + k * (variance < 1e-14 ? 0 : Math.sqrt(variance))
  }
  return out
}

function kdjFromTalibExtremes(hlc, n) {
  const length = hlc.close.length
  const k = new Float64Array(length).fill(Number.NaN)
  const d = new Float64Array(length).fill(Number.NaN)
  const j = new Float64Array(length).fill(Number.NaN)
  if (length < n) return { k, d, j }
  const highest = ta('MAX', { inReal: hlc.high }, { optInTimePeriod: n }).result.outReal
  const lowest = ta('MIN', { inReal: hlc.low }, { optInTimePeriod: n }).result.outReal
  let kk = 50
  let dd = 50
  for (let i = n - 1; i < length; i++) {
    const hh = highest[i - n + 1]
    const ll = lowest[i - n + 1]
    const rsv = hh === ll ? 50 : ((hlc.close[i] - ll) / (hh - ll)) * 100
    kk = (2 * kk + rsv) / 3
    dd = (2 * dd + kk) / 3
    k[i] = kk
    d[i] = dd
    j[i] = 3 * kk - 2 * dd
  }
  return { k, d, j }
}
