// Runs through the queue (`stockpulse-worker serve` processes, the built CLI) against Redis
// (REDIS_URL, default 127.0.0.1:6379), next to `stockpulse-worker run`. Prints three tables; gates
// nothing. Each run is timed from its submission to its task.completed (serve processes already
// up), or for `run` by its own wall time; the cold `run` from process start to exit.
// BENCH_BASELINE=<another checkout, built> runs that checkout's cold `run` too, interleaved with
// this build's, and prints it beside.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRunQueue } from '@stockpulse/runs'
import { createClient } from 'redis'
import { dropBenchKeys } from './bench-keys.mjs'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const BIN = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const BASELINE = process.env.BENCH_BASELINE
const BASELINE_BIN = BASELINE ? resolve(BASELINE, 'apps/worker/dist/main.js') : undefined
const PREFIX = `benchq:${process.pid}:`
const COMMON = [
  '--cache-ttl',
  '0',
  '--result-ttl',
  '60',
  '--key-prefix',
  PREFIX,
  '--redis',
  REDIS_URL,
]

const subscriber = createClient({ url: REDIS_URL })
await subscriber.connect()
const queue = createRunQueue({ url: REDIS_URL, prefix: PREFIX })
let seed = 1

/**
 * `count` serve processes of `threads` threads each, serving once they say so; with `pin`, process
 * i is held to core i (`taskset`), as if each had a machine of one core.
 */
async function startServe(count, threads, pin = false) {
  const children = Array.from({ length: count }, (_, i) => {
    const serve = [
      BIN,
      'serve',
      '--concurrency',
      String(threads),
      '--instance-id',
      `bench-${i}`,
      ...COMMON,
    ]
    const [command, args] = pin
      ? ['taskset', ['-c', String(i % availableParallelism()), process.execPath, ...serve]]
      : [process.execPath, serve]
    return spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  })
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve, reject) => {
          let text = ''
          child.stderr.on('data', (chunk) => {
            text += chunk
            if (text.includes('"msg":"worker serving"')) resolve()
          })
          child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${text}`)))
        }),
    ),
  )
  return {
    /** CPU seconds the processes used so far (user + system, every thread). */
    cpuSeconds: () => children.reduce((sum, child) => sum + cpuSecondsOf(child.pid), 0),
    async stop() {
      for (const child of children) child.kill('SIGTERM')
      await Promise.all(children.map((child) => once(child, 'exit')))
    },
  }
}

/** One queued run of `stocks` x `days`: ms from submission to its task.completed. */
async function queued(stocks, days) {
  const taskId = `benchq_${process.pid}_${seed}`
  const channel = `events:task:${taskId}`
  let done
  const completed = new Promise((resolve) => {
    done = resolve
  })
  await subscriber.subscribe(channel, (message) => {
    if (message.includes('"event_type":"task.completed"')) done(JSON.parse(message))
  })
  const start = performance.now()
  const outcome = await queue.submit({ stocks, days, seed: seed++, task_id: taskId })
  if (outcome.status !== 202) throw new Error(`submit refused: ${outcome.body.reason}`)
  const event = await completed
  const ms = performance.now() - start
  await subscriber.unsubscribe(channel)
  if (event.status !== 'completed') throw new Error(`run ${taskId} ended ${event.status}`)
  return ms
}

/** `stockpulse-worker run` (this build's, or `bin`): its summary, and the ms from process start to exit. */
async function embedded(stocks, days, threads, bin = BIN) {
  const start = performance.now()
  const child = spawn(
    process.execPath,
    [
      bin,
      'run',
      '--json',
      '--stocks',
      String(stocks),
      '--days',
      String(days),
      '--seed',
      String(seed++),
      '--concurrency',
      String(threads),
      '--log-level',
      'error',
      ...COMMON,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let out = ''
  child.stdout.on('data', (chunk) => {
    out += chunk
  })
  const [code] = await once(child, 'exit')
  const processMs = performance.now() - start
  if (code !== 0) throw new Error(`run exited ${code}`)
  return { summary: JSON.parse(out), processMs }
}

/** utime + stime of a live process, from /proc (Linux), in seconds. */
function cpuSecondsOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`
const repeat = async (work) => {
  const times = []
  for (let i = 0; i < RUNS; i++) times.push(await work())
  return median(times)
}

// 1. CPU-bound: 5,000 stocks x 2,500 bars on one vs two serve processes of one thread each,
// free to use every core, then each held to a core of its own. A serve process computes on its
// thread while its main thread publishes, so free it uses more than one core, and a second
// process has less left to add; held to one core each, the second adds what a second machine
// would. `cores` is the processes' CPU time over the wall time (Redis not counted).
const scaleOut = async (count, pin) => {
  const fleet = await startServe(count, 1, pin)
  await queued(500, 2500) // warm-up
  const cpuBefore = fleet.cpuSeconds()
  const times = []
  for (let i = 0; i < RUNS; i++) times.push(await queued(5000, 2500))
  const cores = (fleet.cpuSeconds() - cpuBefore) / (times.reduce((a, b) => a + b, 0) / 1000)
  await fleet.stop()
  return { ms: median(times), cores }
}
const rows = []
for (const pin of [false, true]) {
  const one = await scaleOut(1, pin)
  const two = await scaleOut(2, pin)
  const placement = pin ? 'one core each (taskset)' : 'any core'
  rows.push(
    { serve_processes: 1, placement, wall: fmt(one.ms), cores: one.cores.toFixed(2), speedup: '' },
    {
      serve_processes: 2,
      placement,
      wall: fmt(two.ms),
      cores: two.cores.toFixed(2),
      speedup: `${(one.ms / two.ms).toFixed(2)}x (goal >= 1.7x)`,
    },
  )
}
console.log('\nqueue scale-out: 5,000 stocks x 2,500 bars, serve processes of 1 thread each')
console.table(rows)

// 2. The same run through the queue vs `run`, with the same two threads.
const pair = await startServe(1, 2)
await queued(500, 2500)
const queueMs = await repeat(() => queued(5000, 2500))
await pair.stop()
const runMs = await repeat(async () => (await embedded(5000, 2500, 2)).summary.timings.wall_ms)
console.log('\nqueue overhead: 5,000 x 2,500, 2 compute threads, one process')
console.table([
  { mode: 'stockpulse-worker run (job wall time)', wall: fmt(runMs) },
  { mode: 'serve + submit (submit to task.completed)', wall: fmt(queueMs) },
  { mode: 'overhead', wall: `${((queueMs / runMs - 1) * 100).toFixed(1)} % (goal <= 15 %)` },
])

// 3. A cold `run` of 5,000 x 250, process start to exit, next to its indicators-only time (and
// the baseline build's, interleaved).
const colds = []
const baselineColds = []
for (let i = 0; i < RUNS; i++) {
  colds.push(await embedded(5000, 250, 2))
  if (BASELINE_BIN) baselineColds.push(await embedded(5000, 250, 2, BASELINE_BIN))
}
const coldRows = (runs) => {
  const processMs = median(runs.map((c) => c.processMs))
  const computeMs = median(runs.map((c) => c.summary.timings.compute_ms / 2))
  return {
    processMs,
    rows: {
      'process start to exit': fmt(processMs),
      'job wall time (in the process)': fmt(median(runs.map((c) => c.summary.timings.wall_ms))),
      'indicators only (compute time / threads)': fmt(computeMs),
      'process / indicators only': `${(processMs / computeMs).toFixed(2)}x`,
    },
  }
}
const ours = coldRows(colds)
const theirs = BASELINE_BIN ? coldRows(baselineColds) : undefined
console.log(
  '\ncold run: 5,000 x 250, 2 threads, `stockpulse-worker run` from process start to exit',
)
console.table(
  Object.keys(ours.rows).map((what) => ({
    what,
    'this build': ours.rows[what],
    ...(theirs ? { baseline: theirs.rows[what] } : {}),
  })),
)
console.log(
  `goal <= 1.0 s: ${ours.processMs <= 1000 ? 'met' : 'NOT met'} (${fmt(ours.processMs)})${theirs ? `; this build / baseline (${BASELINE}): ${(ours.processMs / theirs.processMs).toFixed(2)}` : ''}`,
)

await queue.close()
await subscriber.close()
const cleaner = createClient({ url: REDIS_URL })
await cleaner.connect()
await dropBenchKeys(cleaner, PREFIX)
await cleaner.close()
