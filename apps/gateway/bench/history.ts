import { type ChildProcess, fork, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { formatPosition, historyKeys, INDICATORS_ALL, TASKS_ALL } from '@stockpulse/events'
import { freePort, startRedisServer, waitForPort } from '@stockpulse/testing'
import { createClient } from 'redis'
import { WebSocket } from 'ws'
import type { ClientCommand } from './clients.js'
import { jobMessages, type Published } from './job.js'
import { fmt, here, report } from './support.js'

// `pnpm bench:history`: what history costs the gateway. The same 5,102-event burst, published as
// plain events and as events carrying a position, to a fleet of clients; then the time to resume
// clients that missed a whole job (the worker's real streams), against the same events live.

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? '100')
const ROUNDS = 5
const TIMEOUT_MS = 120_000
const PREFIX = 'bench:'
const CHANNELS = [TASKS_ALL, INDICATORS_ALL]

const redis = await startRedisServer()
const publisher = createClient({ url: redis.url })
await publisher.connect()
const port = await freePort()
const gateway = startGateway(port)
try {
  await waitForPort(port, 10_000)
  const plain = jobMessages('calc_bench', 5_000)
  const positioned = withPositions(plain)

  // ---- Live bursts: plain vs with positions, alternating, median of ROUNDS ----
  const fleet = await startFleet(CLIENTS)
  const one = await startFleet(1)
  const rates = { plain: [] as number[], positioned: [] as number[], single: [] as number[] }
  for (let round = 0; round < ROUNDS; round++) {
    process.stderr.write(`burst round ${round + 1}/${ROUNDS}...\n`)
    rates.plain.push(await burst(fleet, CLIENTS, plain))
    rates.positioned.push(await burst(fleet, CLIENTS, positioned))
    rates.single.push(await burst(one, 1, positioned))
  }
  for (const child of [fleet, one]) child.kill('SIGKILL')

  // ---- Resume: the worker's own job in the streams, clients missing all of it ----
  process.stderr.write('the worker publishes a 5,000-stock job...\n')
  await runWorker()
  const since = await firstPositions()
  const single: number[] = []
  let replayed = 0
  for (let round = 0; round < ROUNDS; round++) {
    const [result] = await resume(1, since)
    single.push(result!.ms)
    replayed = result!.events
  }
  process.stderr.write(`${CLIENTS} clients resume at once...\n`)
  const many = await resume(CLIENTS, since)
  const manyMs = Math.max(...many.map((result) => result.ms))

  const liveOne = (plain.length / median(rates.single)) * 1000
  const liveMany = ((plain.length * CLIENTS) / median(rates.positioned)) * 1000
  const rows = [
    '| metric | plain events | events with positions | with / plain |',
    '| --- | ---: | ---: | ---: |',
    row(
      `delivered messages/s, burst of the 5,102-event job, ${CLIENTS} clients`,
      median(rates.plain),
      median(rates.positioned),
    ),
    '',
    `| resume: replay of the ${fmt(replayed, 0)} events a client missed | replay ms | events/s | replay / same events live |`,
    '| --- | ---: | ---: | ---: |',
    resumeRow('1 client', median(single), replayed, liveOne),
    resumeRow(`${CLIENTS} clients at once`, manyMs, replayed * CLIENTS, liveMany),
  ]
  process.stdout.write(`${rows.join('\n')}\n`)
} finally {
  gateway.kill('SIGTERM')
  await once(gateway, 'exit')
  await publisher.close()
  await redis.stop()
}

function startGateway(port: number): ChildProcess {
  return spawn(process.execPath, [here('../../dist/main.js')], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: redis.url,
      KEY_PREFIX: PREFIX,
      LOG_LEVEL: 'warn',
      MAX_CONNECTIONS: '100000',
      MAX_CLIENT_BUFFER_BYTES: String(256 * 2 ** 20),
    },
  })
}

async function startFleet(clients: number): Promise<ChildProcess> {
  const url = `ws://127.0.0.1:${port}/ws/events?channels=${CHANNELS.join(',')}`
  const fleet = fork(here('./clients.js'), ['gateway', url, String(clients)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  await report(fleet, 'connected', 60_000)
  return fleet
}

/** Publishes `messages` at once; deliveries per second until every client has them all. */
async function burst(fleet: ChildProcess, clients: number, messages: readonly Published[]) {
  fleet.send({ type: 'expect', count: messages.length } satisfies ClientCommand)
  await report(fleet, 'expecting', 10_000)
  const finished = report(fleet, 'done', TIMEOUT_MS)
  const started = performance.timeOrigin + performance.now()
  await Promise.all(messages.map(({ channel, text }) => publisher.publish(channel, text)))
  const done = await finished
  return (clients * messages.length) / ((done.at - started) / 1000)
}

/** The job as the worker's script publishes it: each message with its position spliced in. */
function withPositions(messages: readonly Published[]): Published[] {
  const start = Date.now()
  return messages.map(({ channel, text }, i) => ({
    channel,
    text: `${text.slice(0, -1)},"position":"${formatPosition('benchepoch', `${start + i}-0`)}"}`,
  }))
}

async function runWorker(): Promise<void> {
  const pkg = createRequire(import.meta.url).resolve('@stockpulse/worker/package.json')
  const worker = spawn(
    process.execPath,
    [
      join(dirname(pkg), 'dist/main.js'),
      'run',
      '--redis',
      redis.url,
      '--key-prefix',
      PREFIX,
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { PATH: process.env.PATH } },
  )
  const [code] = await once(worker, 'exit')
  if (code !== 0) throw new Error(`the worker exited with ${code}`)
}

/** The position of the first event of each channel: resuming from it replays all the others. */
async function firstPositions(): Promise<Record<string, string>> {
  const keys = historyKeys(PREFIX)
  const epoch = await publisher.get(keys.epoch)
  const since: Record<string, string> = {}
  for (const channel of CHANNELS) {
    const [first] = await publisher.xRange(keys.stream(channel), '-', '+', { COUNT: 1 })
    if (!epoch || !first) throw new Error(`no history for ${channel}`)
    since[channel] = formatPosition(epoch, first.id)
  }
  return since
}

/** Connects `clients` with no channel, then resumes them all at once: ms to each ack, events before it. */
async function resume(clients: number, since: Record<string, string>) {
  const sockets = await Promise.all(
    Array.from({ length: clients }, async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/events?channels=`, {
        perMessageDeflate: false,
      })
      await once(ws, 'open')
      return ws
    }),
  )
  const started = performance.now()
  const results = await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<{ ms: number; events: number }>((resolve) => {
          let events = 0
          ws.on('message', (data: Buffer) => {
            if (data[2] !== 0x74 /* {"type": a control frame */) events++
            else if (data.toString().includes('"id":"resume"')) {
              resolve({ ms: performance.now() - started, events })
            }
          })
          ws.send(JSON.stringify({ type: 'subscribe', id: 'resume', channels: CHANNELS, since }))
        }),
    ),
  )
  for (const ws of sockets) ws.terminate()
  return results
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

function row(metric: string, plain: number, positioned: number): string {
  return `| ${metric} | ${fmt(plain, 0)} | ${fmt(positioned, 0)} | ${(positioned / plain).toFixed(2)} |`
}

function resumeRow(who: string, ms: number, events: number, liveMs: number): string {
  return `| ${who} | ${fmt(ms, 1)} | ${fmt((events / ms) * 1000, 0)} | ${(ms / liveMs).toFixed(2)} |`
}
