import { request } from 'node:http'
import { fileURLToPath } from 'node:url'
import { type Channel, formatPosition, historyKeys, type StockPulseEvent } from '@stockpulse/events'
import {
  freePort,
  type NodeProcess,
  type RedisServer,
  startNode,
  startRedisServer,
  until,
} from '@stockpulse/testing'
import { createHistorySink } from '@stockpulse/worker'
import { createClient } from 'redis'
import { afterAll, beforeAll, expect } from 'vitest'
import { jobMessages } from '../../bench/job.js'
import type { GatewayStatsSnapshot } from '../../src/metrics.js'
import type { TestClient } from '../../src/test-support/gateway.js'
import { createPublisher, type Publisher } from '../../src/test-support/redis.js'

// The abuse suite runs the built gateway (`dist/main.js`) in a child process, so that its memory
// and CPU are its own, and talks to it only through its sockets: plain `ws` clients, raw TCP and
// HTTP requests that close their connection (no pooled socket lingers in its counters).

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url))

export interface HttpAnswer {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
}

export interface GatewayProcess {
  readonly port: number
  /** The gateway's process, with its output. */
  readonly process: NodeProcess
  wsUrl(query?: string): string
  /** One request on a connection of its own (`Connection: close`). */
  get(path: string, headers?: Record<string, string>): Promise<HttpAnswer>
  /** `GET /ws/stats` (with the admin token, when auth is on). */
  stats(): Promise<GatewayStatsSnapshot>
  /** A value of `/metrics`, e.g. `stockpulse_gateway_process_cpu_seconds_total`. */
  metric(name: string): Promise<number>
  /** What the process wrote to stdout and stderr so far. */
  output(): string
  stop(): Promise<void>
}

/** What a test file attacks: a private Redis, a publisher on it and the built gateway. */
export interface AbuseTarget {
  readonly redis: RedisServer
  readonly publisher: Publisher
  readonly gateway: GatewayProcess
}

/** The gateway's variables for a test file (REDIS_URL is set), and the token for /ws/stats. */
export interface GatewaySetup {
  readonly env?: Record<string, string>
  readonly adminToken?: string
}

/**
 * Starts a private redis-server, a publisher and the built gateway before the file's tests, and
 * stops them after. `setup` runs first, with the Redis URL: it may write to Redis, and says how
 * the gateway is configured.
 */
export function withGateway(
  setup: (redisUrl: string) => GatewaySetup | Promise<GatewaySetup> = () => ({}),
): AbuseTarget {
  const target = {} as { redis: RedisServer; publisher: Publisher; gateway: GatewayProcess }
  beforeAll(async () => {
    target.redis = await startRedisServer()
    target.publisher = await createPublisher(target.redis.url)
    const { env = {}, adminToken } = await setup(target.redis.url)
    target.gateway = await startGatewayProcess(
      { REDIS_URL: target.redis.url, ...env },
      adminToken === undefined ? {} : { adminToken },
    )
  })
  afterAll(async () => {
    await target.gateway?.stop()
    await target.publisher?.close()
    await target.redis?.stop()
  })
  return target
}

/**
 * Starts the built gateway on a free port with `env` (plus PORT, HOST and LOG_LEVEL) and waits
 * until `/healthz` says 200. `adminToken` is sent to the operator endpoints when auth is on.
 */
export async function startGatewayProcess(
  env: Record<string, string>,
  options: { adminToken?: string } = {},
): Promise<GatewayProcess> {
  const port = await freePort()
  const child = startNode(MAIN, [], {
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...env,
    },
  })
  const admin: Record<string, string> = options.adminToken
    ? { authorization: `Bearer ${options.adminToken}` }
    : {}
  const get = (path: string, headers: Record<string, string> = {}) => httpGet(port, path, headers)
  const gateway: GatewayProcess = {
    port,
    process: child,
    wsUrl: (query = '') => `ws://127.0.0.1:${port}/ws/events${query}`,
    get,
    async stats() {
      const answer = await get('/ws/stats', admin)
      expect(answer.status, answer.body).toBe(200)
      return JSON.parse(answer.body) as GatewayStatsSnapshot
    },
    async metric(name) {
      const answer = await get('/metrics', admin)
      const line = answer.body.split('\n').find((l) => l.startsWith(`${name} `))
      if (!line) throw new Error(`no ${name} in /metrics`)
      return Number(line.slice(name.length + 1))
    },
    output: () => child.stdout + child.stderr,
    async stop() {
      await child.stop()
    },
  }
  try {
    await until(
      async () => {
        if (child.child.exitCode !== null) throw new Error(`the gateway exited:\n${child.stderr}`)
        return (await get('/healthz').catch(() => undefined))?.status === 200
      },
      'the gateway to be healthy',
      15_000,
    )
  } catch (error) {
    await gateway.stop()
    throw error
  }
  return gateway
}

/** A GET on a connection of its own, closed after the answer. */
export function httpGet(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, agent: false, headers: { connection: 'close', ...headers } },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk) => {
          body += chunk
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

/**
 * Waits until the gateway uses less than `share` of a core over a half-second window: whatever
 * an attacker left running has stopped.
 */
export async function untilIdle(gateway: GatewayProcess, what: string, share = 0.3): Promise<void> {
  const cpu = 'stockpulse_gateway_process_cpu_seconds_total'
  let last = await gateway.metric(cpu)
  let at = performance.now()
  await until(
    async () => {
      if (performance.now() - at < 500) return false
      const now = performance.now()
      const seconds = await gateway.metric(cpu)
      const busy = (seconds - last) / ((now - at) / 1000)
      last = seconds
      at = now
      return busy < share
    },
    `the gateway's CPU to be idle after ${what}`,
    30_000,
  )
}

/** Resident memory of the gateway process, in bytes. */
export function rss(gateway: GatewayProcess): Promise<number> {
  return gateway.metric('stockpulse_gateway_process_resident_memory_bytes')
}

/**
 * Publishes a worker-shaped job of `stocks` stocks on `events:tasks` and `events:indicators`
 * and checks that every client (joined to both) receives each of its events, in order, exactly
 * once, after what it had already.
 */
export async function expectWholeJobDelivered(
  publisher: Publisher,
  clients: readonly TestClient[],
  taskId: string,
  stocks: number,
): Promise<void> {
  const job = jobMessages(taskId, stocks)
  const before = clients.map((client) => client.events().length)
  for (const { channel, text } of job) await publisher.publish(channel, text)
  const expected = job.map(({ text }) => JSON.parse(text))
  for (const [i, client] of clients.entries()) {
    await until(
      () => client.events().length >= before[i]! + job.length,
      `a bystander to receive all ${job.length} events of ${taskId} (got ${client.events().length - before[i]!})`,
      30_000,
    )
    expect(client.events().slice(before[i])).toEqual(expected)
  }
}

/** `PUBSUB CHANNELS events:*` of the Redis at `url`: what the gateway is subscribed to there. */
export async function redisChannels(url: string): Promise<string[]> {
  const client = createClient({ url })
  await client.connect()
  try {
    return await client.pubSubChannels('events:*')
  } finally {
    await client.close()
  }
}

/** Appends events to the history as the worker does: its publish script, default key prefix. */
export async function writeHistory(
  url: string,
  events: ReadonlyArray<{ event: StockPulseEvent; channels: readonly Channel[] }>,
): Promise<void> {
  const client = createClient({ url })
  await client.connect()
  try {
    const sink = createHistorySink(client, {
      keys: historyKeys(),
      maxlen: 100_000,
      runHistory: 30,
      retentionSeconds: 3_600,
    })
    await Promise.all(
      events.map(({ event, channels }) => sink.send(event, JSON.stringify(event), channels)),
    )
    sink.close()
  } finally {
    await client.close()
  }
}

/** The positions of every entry in a channel's history stream, oldest first. */
export async function streamPositions(url: string, channel: string): Promise<string[]> {
  const client = createClient({ url })
  await client.connect()
  try {
    const keys = historyKeys()
    const epoch = (await client.get(keys.epoch))!
    const entries = await client.xRange(keys.stream(channel), '-', '+')
    return entries.map(({ id }) => formatPosition(epoch, id))
  } finally {
    await client.close()
  }
}
