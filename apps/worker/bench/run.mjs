// The whole job, 5,000 stocks x 250 days, synthetic, publishing to Redis (REDIS_URL, default
// 127.0.0.1:6379) with history (the default), without it (--history-maxlen 0), and with
// publishing disabled, in one process. Prints a table; gates nothing. BENCH_BASELINE=<another
// checkout, built> adds that checkout's worker publishing with history to the same run, so a change
// is priced against the build before it.
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { pino } from 'pino'
import {
  createRedisBus,
  createRedisClient,
  createWorkerService,
  parseConfig,
  waitForRedis,
} from '../dist/index.js'
import { dropBenchKeys } from './bench-keys.mjs'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const RUNS = Number(process.env.BENCH_RUNS ?? 5)
const STOCKS = 5000
const TARGET_MS = 1000
const PREFIX = `bench:${process.pid}:`

const logger = pino({ level: 'silent' })
const redis = createRedisClient(REDIS_URL, logger)
redis.connect().catch(() => {})
if (!(await waitForRedis(redis, 5000))) {
  console.error(`bench: no Redis at ${REDIS_URL}`)
  process.exit(1)
}
/** The bench's job: its arguments and environment, for this build's parseConfig or another's. */
const JOB_ARGS = [
  'run',
  '--stocks',
  String(STOCKS),
  '--days',
  '250',
  '--cache-ttl',
  '300',
  '--result-ttl',
  '300',
]
const JOB_ENV = { REDIS_URL, KEY_PREFIX: PREFIX, LOG_LEVEL: 'silent' }
const configOf = (...flags) => parseConfig([...JOB_ARGS, ...flags], JOB_ENV)
const config = configOf()
const bus = createRedisBus(redis)
const nowhere = { publish() {}, subscribe() {}, unsubscribe() {} }
const history = createWorkerService({ config, bus, redis, logger })
const plain = createWorkerService({ config: configOf('--history-maxlen', '0'), bus, redis, logger })
const baseline = process.env.BENCH_BASELINE
  ? await baselineService(resolve(process.env.BENCH_BASELINE, 'apps/worker/dist/index.js'))
  : undefined
const silent = createWorkerService({
  config: configOf('--history-maxlen', '0'),
  bus: nowhere,
  redis,
  logger,
})

/** One task, measured: its summary's timings, the process CPU and the Redis server CPU it used. */
async function measure(service, seed) {
  const redisCpu = await redisCpuMs()
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
    redis_cpu_ms: (await redisCpuMs()) - redisCpu,
  }
}

async function redisCpuMs() {
  const info = await redis.info('cpu')
  const field = (name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0)
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000
}

const first = await measure(history, 1)
await measure(plain, 2)
await measure(silent, 3)
if (baseline) await measure(baseline, 4)
const rows = { history: [], warm: [], plain: [], silent: [], baseline: [] }
for (let i = 0; i < RUNS; i++) {
  const seed = 100 + i
  rows.history.push(await measure(history, seed))
  if (baseline) rows.baseline.push(await measure(baseline, 3000 + i))
  rows.plain.push(await measure(plain, 2000 + i))
  rows.silent.push(await measure(silent, 1000 + i))
  rows.warm.push(await measure(history, seed))
}
await Promise.all([history, plain, silent, baseline].map((service) => service?.stop('bench over')))
const kept = await historyFootprint()
await dropBenchKeys(redis, PREFIX)
bus.close()
redis.destroy()

const median = (values) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)]
const wallOf = (runs) => median(runs.map((r) => r.wall_ms))
const peer = wallOf(rows.silent)
const off = wallOf(rows.plain)
const line = (name, runs) => {
  const wall = wallOf(runs)
  const pick = (key) => median(runs.map((r) => r[key]))
  const events = pick('events')
  const share = (key) => `${Math.round((100 * pick(key)) / wall)} %`
  return `| ${name} | ${Math.round(wall)} | ${Math.round(Math.min(...runs.map((r) => r.wall_ms)))} | ${Math.round((events / wall) * 1000).toLocaleString('en-US')} | ${share('wait_ms')} | ${share('publish_ms')} | ${Math.round(pick('compute_ms'))} | ${Math.round(pick('cpu_ms'))} | ${Math.round(pick('redis_cpu_ms'))} | ${(wall / off).toFixed(2)} | ${(wall / peer).toFixed(2)} |`
}
console.log(
  `\nworker job: ${STOCKS.toLocaleString('en-US')} stocks x 250 days, synthetic, ${config.job.indicators.length} indicators, ${config.job.concurrency} compute threads, ${availableParallelism()} cores, Node ${process.version}, Redis ${REDIS_URL}`,
)
console.log(
  `medians of ${RUNS} runs in one process (threads and JIT warm); the first run of the process is below the table; Redis CPU is the whole server's, other clients included\n`,
)
console.log(
  '| job | wall ms | best ms | events/s | main: waiting for compute | main: publishing | compute ms (threads, summed) | CPU ms | Redis CPU ms | vs history off | vs no publishing |',
)
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
console.log(line('publish with history, cold cache', rows.history))
console.log(line('publish with history, rerun (cache hits)', rows.warm))
console.log(line('publish, history off (`--history-maxlen 0`), cold cache', rows.plain))
console.log(line('no publishing (in-run peer), cold cache', rows.silent))
if (baseline) {
  console.log(line('publish with history, cold cache: baseline build', rows.baseline))
  console.log(
    `\nwith history, this build / baseline build (${process.env.BENCH_BASELINE}): ${(wallOf(rows.history) / wallOf(rows.baseline)).toFixed(2)}`,
  )
}
console.log(
  `\nhistory kept after ${2 + 2 * RUNS} jobs with history: ${kept.streams.toLocaleString('en-US')} streams, ${kept.entries.toLocaleString('en-US')} entries, ${(kept.bytes / 2 ** 20).toFixed(1)} MiB (MEMORY USAGE)`,
)
console.log(
  `first run of the process (threads starting, code not yet optimised): ${Math.round(first.wall_ms)} ms wall, ${Math.round(first.cpu_ms)} ms CPU`,
)
const wall = wallOf(rows.history)
console.log(
  `target <= ${TARGET_MS} ms (median, publishing with history): ${wall <= TARGET_MS ? 'met' : 'NOT met'} (${Math.round(wall)} ms)`,
)

/** The same job with history, run by another checkout's worker under keys of its own. */
async function baselineService(entry) {
  const other = await import(pathToFileURL(entry).href)
  const config = other.parseConfig(JOB_ARGS, { ...JOB_ENV, KEY_PREFIX: `${PREFIX}baseline:` })
  return other.createWorkerService({ config, bus: createRedisBus(redis), redis, logger })
}

/** Streams, entries and bytes under the bench's history keys. */
async function historyFootprint() {
  const total = { streams: 0, entries: 0, bytes: 0 }
  for await (const keys of redis.scanIterator({
    MATCH: `${PREFIX}history:events:*`,
    COUNT: 10_000,
  })) {
    const sizes = await Promise.all(
      keys.flatMap((key) => [redis.xLen(key), redis.memoryUsage(key)]),
    )
    total.streams += keys.length
    for (let i = 0; i < sizes.length; i += 2) {
      total.entries += sizes[i]
      total.bytes += sizes[i + 1] ?? 0
    }
  }
  return total
}
