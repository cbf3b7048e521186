// The whole job, 5,000 stocks x 250 days, synthetic, publishing to Redis (REDIS_URL, default
// 127.0.0.1:6379), against the same job with publishing disabled. Prints a table; gates nothing.
import { availableParallelism } from 'node:os'
import { pino } from 'pino'
import {
  createRedisBus,
  createRedisClient,
  createWorkerService,
  parseConfig,
  waitForRedis,
} from '../dist/index.js'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const RUNS = Number(process.env.BENCH_RUNS ?? 5)
const STOCKS = 5000
const TARGET_MS = 1000

const logger = pino({ level: 'silent' })
const redis = createRedisClient(REDIS_URL, logger)
redis.connect().catch(() => {})
if (!(await waitForRedis(redis, 5000))) {
  console.error(`bench: no Redis at ${REDIS_URL}`)
  process.exit(1)
}
const config = parseConfig(
  ['run', '--stocks', String(STOCKS), '--days', '250', '--cache-ttl', '300', '--result-ttl', '300'],
  { REDIS_URL, WORKER_KEY_PREFIX: `bench:${process.pid}:`, LOG_LEVEL: 'silent' },
)
const bus = createRedisBus(redis)
const nowhere = { publish() {}, subscribe() {}, unsubscribe() {} }
const publishing = createWorkerService({ config, bus, redis, logger })
const silent = createWorkerService({ config, bus: nowhere, redis, logger })

/** One task, measured: its summary's timings plus the process CPU it used. */
async function measure(service, seed) {
  const cpu = process.cpuUsage()
  const summary = await service.runTask({
    seed,
    taskId: `bench_${process.pid}_${seed}_${Date.now()}`,
  })
  const used = process.cpuUsage(cpu)
  if (summary.status !== 'completed' || summary.processed !== STOCKS) {
    throw new Error(`bench task ended ${summary.status}: ${summary.message}`)
  }
  return {
    ...summary.timings,
    events: summary.events_published,
    cpu_ms: (used.user + used.system) / 1000,
  }
}

const first = await measure(publishing, 1)
await measure(silent, 2)
const rows = { publish: [], silent: [], warm: [] }
for (let i = 0; i < RUNS; i++) {
  const seed = 100 + i
  rows.publish.push(await measure(publishing, seed))
  rows.silent.push(await measure(silent, 1000 + i))
  rows.warm.push(await measure(publishing, seed))
}
await publishing.stop('bench over')
await silent.stop('bench over')
bus.close()
redis.destroy()

const median = (values) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)]
const peer = median(rows.silent.map((r) => r.wall_ms))
const line = (name, runs) => {
  const wall = median(runs.map((r) => r.wall_ms))
  const pick = (key) => median(runs.map((r) => r[key]))
  const events = pick('events')
  const share = (key) => `${Math.round((100 * pick(key)) / wall)} %`
  return `| ${name} | ${Math.round(wall)} | ${Math.round(Math.min(...runs.map((r) => r.wall_ms)))} | ${Math.round((events / wall) * 1000).toLocaleString('en-US')} | ${share('wait_ms')} | ${share('publish_ms')} | ${Math.round(pick('compute_ms'))} | ${Math.round(pick('cpu_ms'))} | ${(wall / peer).toFixed(2)} |`
}
console.log(
  `\nworker job: ${STOCKS.toLocaleString('en-US')} stocks x 250 days, synthetic, ${config.job.indicators.length} indicators, ${config.job.concurrency} compute threads, ${availableParallelism()} cores, Node ${process.version}, Redis ${REDIS_URL}`,
)
console.log(
  `medians of ${RUNS} runs in one process (threads and JIT warm); the first run of the process is below the table\n`,
)
console.log(
  '| job | wall ms | best ms | events/s | main: waiting for compute | main: publishing | compute ms (threads, summed) | CPU ms | vs no publishing |',
)
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
console.log(line('publish to Redis, cold cache', rows.publish))
console.log(line('publish to Redis, rerun (cache hits)', rows.warm))
console.log(line('no publishing (in-run peer), cold cache', rows.silent))
console.log(
  `\nfirst run of the process (threads starting, code not yet optimised): ${Math.round(first.wall_ms)} ms wall, ${Math.round(first.cpu_ms)} ms CPU`,
)
const wall = median(rows.publish.map((r) => r.wall_ms))
console.log(
  `target <= ${TARGET_MS} ms (median, publishing): ${wall <= TARGET_MS ? 'met' : 'NOT met'} (${Math.round(wall)} ms)`,
)
