// Speed of the nine default indicators on 5,000 stocks x 250 and x 2,500 bars, one thread, against
// the `talib` binding (TA-Lib C) and `technicalindicators` on the same bars. Prints a Markdown table.
// Run: pnpm --filter @stockpulse/indicators bench   (builds first through turbo: pnpm bench)
import { createRequire } from 'node:module'
import { DEFAULT_INDICATORS, resolveIndicators } from '../dist/index.js'
import { walk } from './series.mjs'

const require = createRequire(import.meta.url)
const talib = optionalTalib()
const ti = require('technicalindicators')

const STOCKS = 5_000
const INDICATORS = DEFAULT_INDICATORS.length
const datasets = [
  { bars: 250, oursRuns: 7, peerRuns: 3, talibStocks: 5_000, tiStocks: 500 },
  { bars: 2_500, oursRuns: 5, peerRuns: 3, talibStocks: 1_000, tiStocks: 100 },
]

const rows = []
for (const dataset of datasets) {
  const stocks = Array.from({ length: STOCKS }, (_, s) =>
    walk(dataset.bars, 10 + (s % 90), s + 1, s % 10 === 0 ? 0.02 : 0),
  )
  // The talib binding reads plain arrays only (a Float64Array gives garbage); conversion is not timed.
  const arrays = stocks.map(({ high, low, close }) => ({
    high: Array.from(high),
    low: Array.from(low),
    close: Array.from(close),
  }))
  const indicators = resolveIndicators(DEFAULT_INDICATORS)
  const buffers = indicators.map((indicator) => indicator.allocate(dataset.bars))

  const ours = measure(dataset.oursRuns, () => {
    for (const bars of stocks) {
      for (let i = 0; i < indicators.length; i++) indicators[i].computeInto(buffers[i], bars)
    }
  })
  const oursAllocating = measure(dataset.oursRuns, () => {
    for (const bars of stocks) for (const indicator of indicators) indicator.compute(bars)
  })
  const talibRun =
    talib &&
    measure(dataset.peerRuns, () => {
      for (let s = 0; s < dataset.talibStocks; s++) runTalib(arrays[s])
    })
  const tiRun = measure(dataset.peerRuns, () => {
    for (let s = 0; s < dataset.tiStocks; s++) runTechnicalIndicators(arrays[s])
  })
  const scale = (ms, timed) => (ms * STOCKS) / timed
  const entries = [
    ['@stockpulse/indicators, computeInto (reused buffers)', ours, STOCKS],
    ['@stockpulse/indicators, compute (fresh buffers)', oursAllocating, STOCKS],
    ...(talib
      ? [[`talib ${talib.version} (TA-Lib C binding)`, talibRun, dataset.talibStocks]]
      : []),
    ['technicalindicators 3.1.0', tiRun, dataset.tiStocks],
  ]
  for (const [name, ms, timed] of entries) {
    const full = scale(ms, timed)
    rows.push({
      data: `${STOCKS} x ${dataset.bars}`,
      name,
      timed: timed === STOCKS ? `${timed}` : `${timed} (x${STOCKS / timed})`,
      ms: full,
      rate: (STOCKS * dataset.bars * INDICATORS) / full / 1e3,
      vsTalib: talib ? scale(talibRun, dataset.talibStocks) / full : undefined,
      vsTi: scale(tiRun, dataset.tiStocks) / full,
    })
  }
}

console.log(
  `Node ${process.version}, one thread; 9 indicators (${DEFAULT_INDICATORS.join(', ')}); median of runs after warm-up.`,
)
console.log(
  'Peers timed on the stocks shown and scaled linearly to 5,000. KDJ: talib runs STOCH 9/3/3,',
)
console.log('technicalindicators runs Stochastic 9/3 (neither has KDJ).\n')
console.log(
  '| data | library | stocks timed | ms | M indicator-bars/s | talib ms / this | technicalindicators ms / this |',
)
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |')
for (const row of rows) {
  console.log(
    `| ${row.data} | ${row.name} | ${row.timed} | ${row.ms.toFixed(1)} | ${row.rate.toFixed(1)} | ${row.vsTalib === undefined ? 'n/a' : `${row.vsTalib.toFixed(1)}x`} | ${row.vsTi.toFixed(1)}x |`,
  )
}

// ---- Peers ----

/** The `talib` binding is an optional dependency: it needs a C++ toolchain to build at install. */
function optionalTalib() {
  try {
    return require('talib')
  } catch {
    console.log(
      'talib binding not installed (optional; needs python3, make and g++): its rows are skipped.\n',
    )
    return undefined
  }
}

function runTalib(bars) {
  const all = { startIdx: 0, endIdx: bars.close.length - 1 }
  const inReal = bars.close
  for (const n of [5, 10, 20, 60])
    talib.execute({ name: 'SMA', ...all, inReal, optInTimePeriod: n })
  talib.execute({
    name: 'MACD',
    ...all,
    inReal,
    optInFastPeriod: 12,
    optInSlowPeriod: 26,
    optInSignalPeriod: 9,
  })
  talib.execute({ name: 'RSI', ...all, inReal, optInTimePeriod: 14 })
  talib.execute({
    name: 'BBANDS',
    ...all,
    inReal,
    optInTimePeriod: 20,
    optInNbDevUp: 2,
    optInNbDevDn: 2,
    optInMAType: 0,
  })
  talib.execute({ name: 'ATR', ...all, ...bars, optInTimePeriod: 14 })
  talib.execute({
    name: 'STOCH',
    ...all,
    ...bars,
    optInFastK_Period: 9,
    optInSlowK_Period: 3,
    optInSlowK_MAType: 0,
    optInSlowD_Period: 3,
    optInSlowD_MAType: 0,
  })
}

function runTechnicalIndicators(bars) {
  const values = bars.close
  for (const period of [5, 10, 20, 60]) ti.SMA.calculate({ period, values })
  ti.MACD.calculate({
    values,
    fastPeriod: 12,
    slowPeriod: 26,
    signalPeriod: 9,
    SimpleMAOscillator: false,
    SimpleMASignal: false,
  })
  ti.RSI.calculate({ values, period: 14 })
  ti.BollingerBands.calculate({ values, period: 20, stdDev: 2 })
  ti.ATR.calculate({ ...bars, period: 14 })
  ti.Stochastic.calculate({ ...bars, period: 9, signalPeriod: 3 })
}

// ---- Timing ----

/** Median wall time in ms of `runs` timed runs after two warm-up runs. */
function measure(runs, run) {
  run()
  run()
  const times = []
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint()
    run()
    times.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]
}
