// The postgres path against the synthetic source, in one process: 5,000 stocks x 250 days,
// 9 indicators, no Redis (events go nowhere, no cache), so the rows differ only in where bars
// come from and where values go. PostgreSQL at BENCH_DATABASE_SERVER (default
// postgres://postgres@127.0.0.1:5432/), in a database of its own, dropped at the end.
// Prints a table; gates nothing.
import { availableParallelism } from 'node:os'
import { createTestDatabase } from '@stockpulse/testing'
import { pino } from 'pino'
import {
  createDatabase,
  createWorkerService,
  migrate,
  parseConfig,
  seedDailyBars,
} from '../dist/index.js'

const SERVER = process.env.BENCH_DATABASE_SERVER ?? 'postgres://postgres@127.0.0.1:5432/'
const RUNS = Number(process.env.BENCH_RUNS ?? 5)
const STOCKS = 5000
const DAYS = 250
const DATE = '2026-01-09'
const TARGET_MS = 1000

const logger = pino({ level: 'silent' })
const server = await createTestDatabase(SERVER)
const database = createDatabase(server.url, logger)
const nowhere = { publish() {}, subscribe() {}, unsubscribe() {} }
try {
  const configOf = (...flags) =>
    parseConfig(
      ['run', '--stocks', String(STOCKS), '--days', String(DAYS), '--date', DATE, ...flags],
      {
        DATABASE_URL: server.url,
        LOG_LEVEL: 'silent',
      },
    )
  const synthetic = configOf()
  await migrate(database, synthetic.database)
  const seedStart = performance.now()
  const rows = await seedDailyBars(database, synthetic.database.bars, {
    stocks: STOCKS,
    days: DAYS,
    seed: synthetic.job.seed,
    date: DATE,
  })
  const seedMs = performance.now() - seedStart
  await database.query('VACUUM ANALYZE daily_bars')

  const jobs = {
    synthetic: synthetic,
    'synthetic, --sink postgres': configOf('--sink', 'postgres'),
    'postgres, --sink none': configOf('--source', 'postgres', '--sink', 'none'),
    'postgres (source and sink)': configOf('--source', 'postgres'),
  }
  const services = Object.fromEntries(
    Object.entries(jobs).map(([name, config]) => [
      name,
      createWorkerService({ config, bus: nowhere, database, logger }),
    ]),
  )
  const measure = async (name, run) => {
    // Each job writes the rows of a new trade date, as the daily job does (inserts, not updates).
    await database.query('TRUNCATE indicator_values')
    const cpu = process.cpuUsage()
    const summary = await services[name].runTask({ taskId: `bench_${run}_${Date.now()}` })
    const used = process.cpuUsage(cpu)
    if (summary.status !== 'completed' || summary.processed !== STOCKS) {
      throw new Error(`bench task ${name} ended ${summary.status}: ${summary.message}`)
    }
    return {
      ...summary.timings,
      values: summary.values_written,
      cpu_ms: (used.user + used.system) / 1000,
    }
  }

  const first = {}
  for (const name of Object.keys(jobs)) first[name] = await measure(name, 'first')
  const results = Object.fromEntries(Object.keys(jobs).map((name) => [name, []]))
  for (let i = 0; i < RUNS; i++) {
    for (const name of Object.keys(jobs)) results[name].push(await measure(name, i))
  }
  await Promise.all(Object.values(services).map((service) => service.stop('bench over')))

  const median = (values) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)]
  const pick = (name, key) => median(results[name].map((r) => r[key]))
  const peer = pick('synthetic', 'wall_ms')
  console.log(
    `\nworker job from PostgreSQL: ${STOCKS.toLocaleString('en-US')} stocks x ${DAYS} days (${rows.toLocaleString('en-US')} bars), ${synthetic.job.indicators.length} indicators, ${synthetic.job.concurrency} compute threads, ${availableParallelism()} cores, Node ${process.version}, PostgreSQL ${await serverVersion()}, no Redis`,
  )
  console.log(
    `medians of ${RUNS} runs in one process (threads and JIT warm); seed-db wrote the bars in ${Math.round(seedMs)} ms\n`,
  )
  console.log(
    '| job | wall ms | best ms | load ms (bars in) | write-back ms (summed) | main: waiting for writes ms | values written | CPU ms | vs synthetic | added ms |',
  )
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const name of Object.keys(jobs)) {
    const wall = pick(name, 'wall_ms')
    const best = Math.min(...results[name].map((r) => r.wall_ms))
    console.log(
      `| ${name} | ${Math.round(wall)} | ${Math.round(best)} | ${Math.round(pick(name, 'load_ms'))} | ${Math.round(pick(name, 'store_ms'))} | ${Math.round(pick(name, 'store_wait_ms'))} | ${pick(name, 'values').toLocaleString('en-US')} | ${Math.round(pick(name, 'cpu_ms'))} | ${(wall / peer).toFixed(2)} | ${Math.round(wall - peer)} |`,
    )
  }
  const firstLine = Object.entries(first)
    .map(([name, r]) => `${name} ${Math.round(r.wall_ms)} ms`)
    .join(', ')
  console.log(`\nfirst run of the process (threads starting, code not yet optimised): ${firstLine}`)
  const added = pick('postgres (source and sink)', 'wall_ms') - peer
  console.log(
    `target: the postgres path adds <= ${TARGET_MS} ms to the job (median): ${added <= TARGET_MS ? 'met' : 'NOT met'} (${Math.round(added)} ms)`,
  )
} finally {
  await database.end()
  await server.drop()
}

async function serverVersion() {
  const { rows } = await database.query('SHOW server_version')
  return rows[0].server_version.split(' ')[0]
}
