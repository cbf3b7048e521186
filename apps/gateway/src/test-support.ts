import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { compareStreamIds, parsePosition } from '@stockpulse/events'
import { type RedisServer, startRedisServer, until } from '@stockpulse/testing'
import { pino } from 'pino'
import { createClient } from 'redis'
import { afterAll, beforeAll, expect } from 'vitest'
import { type ClientOptions, WebSocket } from 'ws'
import type { Bridge } from './bridge.js'
import { loadConfig } from './config.js'
import { createGateway, type Gateway } from './gateway.js'
import type { Logger } from './logger.js'
import { createRedisBridge } from './redis-bridge.js'

// Shared by the integration tests; not part of the build.

export const silentLogger = pino({ level: 'silent' })

export interface TestGateway {
  readonly gateway: Gateway
  readonly bridge: Bridge
  readonly port: number
  wsUrl(query?: string): string
  httpUrl(path: string): string
  close(): Promise<void>
}

/** A gateway on 127.0.0.1 and a free port, over `bridge` or a Redis bridge to `env.REDIS_URL`. */
export async function startGateway(
  env: Record<string, string>,
  options: { bridge?: Bridge; logger?: Logger } = {},
): Promise<TestGateway> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', ...env })
  const logger = options.logger ?? silentLogger
  const bridge =
    options.bridge ??
    createRedisBridge(config.redisUrl, {
      logger,
      keyPrefix: config.keyPrefix,
      replayLimit: config.historyReplayLimit,
    })
  const gateway = createGateway({ bridge, config, logger })
  const { port } = await gateway.listen()
  return {
    gateway,
    bridge,
    port,
    wsUrl: (query = '') => `ws://127.0.0.1:${port}/ws/events${query}`,
    httpUrl: (path) => `http://127.0.0.1:${port}${path}`,
    async close() {
      await gateway.close()
      await bridge.close()
    },
  }
}

/** Resolves once the bridge reports `ready` (the gateway's /healthz says 200). */
export async function untilReady(test: TestGateway): Promise<void> {
  await until(() => test.bridge.state === 'ready', 'bridge ready', 10_000)
}

/** A message as the client parsed it: an event (`event_type`) or a control frame (`type`). */
export type Received = Record<string, unknown>

/** A `ws` client that records every message and how it closed. */
export class TestClient {
  readonly ws: WebSocket
  readonly received: Received[] = []
  readonly closed: Promise<{ code: number; reason: string }>
  private readonly waiters = new Set<() => void>()

  constructor(url: string, options?: ClientOptions) {
    this.ws = new WebSocket(url, options)
    this.ws.on('message', (data: Buffer) => {
      this.received.push(JSON.parse(data.toString()) as Received)
      for (const wake of this.waiters) wake()
    })
    this.ws.on('error', () => {})
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code: number, reason: Buffer) => {
        resolve({ code, reason: reason.toString() })
        for (const wake of this.waiters) wake()
      }),
    )
  }

  /** Connects and waits for the `connected` and `subscribed` frames. */
  static async open(url: string, options?: ClientOptions): Promise<TestClient> {
    const client = new TestClient(url, options)
    await client.next((m) => m.type === 'subscribed')
    return client
  }

  /** The first message received so far or later that matches, waiting up to `timeoutMs`. */
  async next(match: (message: Received) => boolean, timeoutMs = 5_000): Promise<Received> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.received.find(match)
      if (found) return found
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error('closed before the message came')
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no matching message within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer)
          this.waiters.delete(wake)
          resolve()
        }
        const timer = setTimeout(wake, left)
        this.waiters.add(wake)
      })
    }
  }

  /** Events (not control frames) received so far. */
  events(): Received[] {
    return this.received.filter((m) => 'event_type' in m)
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return
    this.ws.close()
    await this.closed
  }
}

export type Publisher = Awaited<ReturnType<typeof createPublisher>>

/** A private redis-server and a publisher for the test file, started before its tests. */
export function withRedis(): { readonly redis: RedisServer; readonly publisher: Publisher } {
  const context = {} as { redis: RedisServer; publisher: Publisher }
  beforeAll(async () => {
    context.redis = await startRedisServer()
    context.publisher = await createPublisher(context.redis.url)
  })
  afterAll(async () => {
    await context.publisher.close()
    await context.redis.stop()
  })
  return context
}

/** A separate node-redis client publishing like the worker. */
export async function createPublisher(url: string) {
  const client = createClient({ url })
  client.on('error', () => {})
  await client.connect()
  return {
    publish: (channel: string, message: unknown) =>
      client.publish(channel, typeof message === 'string' ? message : JSON.stringify(message)),
    close: () => client.close(),
  }
}

// ---- The real worker ----

const workerMain = join(
  dirname(createRequire(import.meta.url).resolve('@stockpulse/worker/package.json')),
  'dist/main.js',
)

export interface WorkerJob {
  readonly child: ChildProcess
  /** The exit code once the job is over. */
  readonly exited: Promise<number | null>
}

/**
 * Runs one job with the built worker CLI (`stockpulse-worker run`), publishing through its history
 * script under `keyPrefix`, `pace` stocks per second (unpaced without).
 */
export function runWorkerJob(options: {
  redisUrl: string
  keyPrefix: string
  taskId: string
  stocks: number
  pace?: number
  extra?: readonly string[]
}): WorkerJob {
  const { redisUrl, keyPrefix, taskId, stocks, pace, extra = [] } = options
  const args = [
    ...['run', '--redis', redisUrl, '--key-prefix', keyPrefix, '--task-id', taskId],
    ...[
      '--stocks',
      String(stocks),
      '--concurrency',
      '1',
      '--cache-ttl',
      '0',
      '--log-level',
      'error',
    ],
    ...(pace === undefined ? [] : ['--pace', String(pace)]),
    ...extra,
  ]
  const child = spawn(process.execPath, [workerMain, ...args], {
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  return { child, exited: once(child, 'exit').then(([code]) => code as number | null) }
}

/** The channel an event arrived on, for a client joined to `events:tasks` and `events:indicators`. */
export function jobChannel(event: Received): string {
  return event.event_type === 'stock.indicators.completed' ? 'events:indicators' : 'events:tasks'
}

/** `since` for a resume: the position of the last event received on each channel. */
export function lastPositions(events: readonly Received[]): Record<string, string> {
  const since: Record<string, string> = {}
  for (const event of events) since[jobChannel(event)] = event.position as string
  return since
}

/**
 * Checks that `events` are one whole worker job of `stocks` stocks on `events:tasks` and
 * `events:indicators`, each event exactly once and in order: positions rising in each channel,
 * every stock once, progress never going back, the completion last.
 */
export function expectWholeJob(events: readonly Received[], stocks: number): void {
  const last = new Map<string, string>()
  for (const event of events) {
    const channel = jobChannel(event)
    const position = parsePosition(event.position as string)
    expect(position, `position of ${JSON.stringify(event).slice(0, 120)}`).toBeDefined()
    const previous = last.get(channel)
    if (previous !== undefined && position) {
      expect(
        compareStreamIds(position.id, previous),
        `${channel} after ${previous}`,
      ).toBeGreaterThan(0)
    }
    if (position) last.set(channel, position.id)
  }
  const codes = events.filter((e) => e.event_type === 'stock.indicators.completed')
  expect(new Set(codes.map((e) => e.stock_code)).size).toBe(stocks)
  expect(codes).toHaveLength(stocks)
  const progress = events.filter((e) => e.event_type === 'task.progress').map((e) => e.processed)
  expect(progress).toEqual([...progress].sort((a, b) => (a as number) - (b as number)))
  expect(progress[0]).toBe(0)
  expect(progress.at(-1)).toBe(stocks)
  expect(events.at(-1)?.event_type).toBe('task.completed')
  expect(events).toHaveLength(stocks + progress.length + 1)
}
