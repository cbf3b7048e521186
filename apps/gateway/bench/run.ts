import { type ChildProcess, fork, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { freePort, startRedisServer, waitForPort } from '@stockpulse/testing'
import { createClient } from 'redis'
import { WebSocket } from 'ws'
import type { ClientCommand } from './clients.js'
import { jobMessages, stockEvent } from './job.js'
import { fmt, here, report } from './support.js'

// `pnpm bench`: the gateway and Socket.IO + @socket.io/redis-adapter, each in a child process of
// its own, serve N clients (another child) fed by this process through a private redis-server.
// BENCH_BASELINE=<another checkout, built> adds that checkout's gateway to the same run, so a
// change is priced against the build before it.

const SIZES = (process.env.BENCH_CLIENTS ?? '100,1000').split(',').map(Number)
const BASELINE = process.env.BENCH_BASELINE
  ? resolve(process.env.BENCH_BASELINE, 'apps/gateway/dist/main.js')
  : undefined
const CHANNELS = 'events:tasks,events:indicators'
const PACED_RATE = 200
const PACED_SECONDS = 5
const BURST_TIMEOUT_MS = 120_000
/** USER_HZ of /proc/<pid>/stat, 100 on Linux. */
const CLOCK_TICKS = 100
const INSPECTOR_CHATTER =
  /^(Debugger (listening|ending|attached)|For help, see|Waiting for the debugger)/

type ServerKind = 'gateway' | 'baseline' | 'socketio'
interface Result {
  readonly clients: number
  readonly server: ServerKind
  /** Deliveries per second while a whole job is published at once; undefined if it timed out. */
  readonly burstRate: number | undefined
  /** The server's CPU time (user + system) per 1,000 deliveries of the burst: steadier than
   * the rate on a machine shared with other work. */
  readonly burstCpuMsPerThousand: number | undefined
  readonly p50: number
  readonly p99: number
  readonly rssPerConnectionKb: number
}

const redis = await startRedisServer()
const publisher = createClient({ url: redis.url })
await publisher.connect()
const job = jobMessages('calc_bench', 5_000)
const results: Result[] = []
try {
  for (const clients of SIZES) {
    const servers: ServerKind[] = BASELINE
      ? ['gateway', 'baseline', 'socketio']
      : ['gateway', 'socketio']
    for (const server of servers) {
      process.stderr.write(`${server} with ${clients} clients...\n`)
      results.push(await measure(server, clients))
    }
  }
  printTable(results)
} finally {
  await publisher.close()
  await redis.stop()
}

async function measure(server: ServerKind, clients: number): Promise<Result> {
  const port = await freePort()
  const child = startServer(server, port)
  const inspector = inspectorUrl(child)
  let fleet: ChildProcess | undefined
  try {
    await waitForPort(port, 10_000)
    const baseline = await retainedRssKb(child, await inspector)
    fleet = fork(here('./clients.js'), [server, clientUrl(server, port), String(clients)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    await report(fleet, 'connected', 60_000)
    await sleep(1_000)
    const rssPerConnectionKb = ((await retainedRssKb(child, await inspector)) - baseline) / clients

    // Latency first, on a steady server; the burst leaves garbage that a later GC pays for.
    fleet.send({ type: 'expect', count: PACED_RATE * PACED_SECONDS } satisfies ClientCommand)
    await report(fleet, 'expecting', 10_000)
    fleet.send({ type: 'sample', on: true } satisfies ClientCommand)
    await publishPaced()
    await report(fleet, 'done', BURST_TIMEOUT_MS)
    fleet.send({ type: 'report' } satisfies ClientCommand)
    const { samples } = await report(fleet, 'latencies', 10_000)
    samples.sort((a, b) => a - b)

    fleet.send({ type: 'expect', count: job.length } satisfies ClientCommand)
    await report(fleet, 'expecting', 10_000)
    const cpuBefore = cpuMs(child)
    const started = performance.timeOrigin + performance.now()
    await Promise.all(job.map(({ channel, text }) => publisher.publish(channel, text)))
    const done = await report(fleet, 'done', BURST_TIMEOUT_MS).catch(() => undefined)
    const burstRate = done && (clients * job.length) / ((done.at - started) / 1000)
    const burstCpuMsPerThousand =
      done && (cpuMs(child) - cpuBefore) / ((clients * job.length) / 1000)
    return {
      clients,
      server,
      burstRate,
      burstCpuMsPerThousand,
      p50: percentile(samples, 0.5),
      p99: percentile(samples, 0.99),
      rssPerConnectionKb,
    }
  } finally {
    fleet?.kill('SIGKILL')
    child.kill('SIGTERM')
    await once(child, 'exit')
  }
}

function startServer(server: ServerKind, port: number): ChildProcess {
  // The inspector is only there to force a GC before RSS is read (no session otherwise).
  const inspect = '--inspect=127.0.0.1:0'
  if (server === 'socketio') {
    return fork(here('./socketio-server.js'), [String(port), redis.url], {
      execArgv: [inspect],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    })
  }
  const main = server === 'baseline' && BASELINE ? BASELINE : here('../../dist/main.js')
  return spawn(process.execPath, [inspect, main], {
    stdio: ['ignore', 'inherit', 'pipe'],
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: redis.url,
      LOG_LEVEL: 'warn',
      MAX_CONNECTIONS: '100000',
      // Socket.IO buffers without a limit; the gateway may too here, so that both deliver everything.
      MAX_CLIENT_BUFFER_BYTES: String(256 * 2 ** 20),
    },
  })
}

function clientUrl(server: ServerKind, port: number): string {
  return server !== 'socketio'
    ? `ws://127.0.0.1:${port}/ws/events?channels=${CHANNELS}`
    : `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket&channels=${CHANNELS}`
}

/** Publishes stock events at PACED_RATE for PACED_SECONDS, each stamped with its send time. */
async function publishPaced(): Promise<void> {
  const start = performance.now()
  for (let i = 0; i < PACED_RATE * PACED_SECONDS; i++) {
    const due = start + (i * 1000) / PACED_RATE
    const wait = due - performance.now()
    if (wait > 0) await sleep(wait)
    const sentAt = performance.timeOrigin + performance.now()
    const text = JSON.stringify({ bench_sent_at: sentAt, ...stockEvent('calc_bench', i) })
    void publisher.publish('events:indicators', text)
  }
}

/** CPU time (user + system) a child has used, from /proc (USER_HZ ticks). */
function cpuMs(child: ChildProcess): number {
  const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  // utime and stime are fields 14 and 15 of proc(5), 12 and 13 after the command's ") ".
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS
}

/**
 * The server's RSS once garbage is gone: a full GC is forced through the inspector first, so that
 * what V8 has not collected yet does not count as memory of the connections.
 */
async function retainedRssKb(child: ChildProcess, inspector: string): Promise<number> {
  const session = new WebSocket(inspector)
  await once(session, 'open')
  session.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }))
  await once(session, 'message')
  session.close()
  await sleep(200)
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN)
}

/** The inspector's WebSocket URL, which the server prints on stderr; other output passes through. */
function inspectorUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    child.stderr?.on('data', (data: Buffer) => {
      for (const line of data.toString().split('\n')) {
        const url = /^Debugger listening on (ws:\S+)/.exec(line)?.[1]
        if (url) resolve(url)
        else if (line !== '' && !INSPECTOR_CHATTER.test(line)) process.stderr.write(`${line}\n`)
      }
    })
  })
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN
}

function printTable(all: readonly Result[]): void {
  const rows: string[] = BASELINE
    ? [
        '| clients | metric | gateway | baseline build | gateway / baseline | Socket.IO | gateway advantage |',
        '| ---: | --- | ---: | ---: | ---: | ---: | ---: |',
      ]
    : [
        '| clients | metric | gateway | Socket.IO | gateway advantage |',
        '| ---: | --- | ---: | ---: | ---: |',
      ]
  for (const clients of SIZES) {
    const find = (server: ServerKind) =>
      all.find((r) => r.clients === clients && r.server === server)
    const g = find('gateway')
    const b = find('baseline')
    const s = find('socketio')
    if (!g || !s) continue
    const advantage = (
      a: number | undefined,
      other: number | undefined,
      higherIsBetter: boolean,
    ) =>
      a === undefined || other === undefined
        ? 'n/a'
        : `${(higherIsBetter ? a / other : other / a).toFixed(BASELINE ? 2 : 1)}x`
    const row = (
      metric: string,
      pick: (r: Result) => number | undefined,
      digits: number,
      higherIsBetter: boolean,
    ) => {
      const cells = [fmt(pick(g), digits)]
      if (BASELINE) {
        cells.push(
          b ? fmt(pick(b), digits) : 'n/a',
          b ? advantage(pick(g), pick(b), higherIsBetter) : 'n/a',
        )
      }
      cells.push(fmt(pick(s), digits), advantage(pick(g), pick(s), higherIsBetter))
      rows.push(`| ${clients} | ${metric} | ${cells.join(' | ')} |`)
    }
    row('delivered messages/s (burst of a 5,102-event job)', (r) => r.burstRate, 0, true)
    row('server CPU ms per 1,000 deliveries (same burst)', (r) => r.burstCpuMsPerThousand, 3, false)
    row(`p50 latency, ms (${PACED_RATE} events/s)`, (r) => r.p50, 2, false)
    row(`p99 latency, ms (${PACED_RATE} events/s)`, (r) => r.p99, 2, false)
    row('RSS per idle connection, KB', (r) => r.rssPerConnectionKb, 1, false)
  }
  process.stdout.write(`${rows.join('\n')}\n`)
}
