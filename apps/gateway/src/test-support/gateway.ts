import { until } from '@stockpulse/testing'
import { pino } from 'pino'
import { type ClientOptions, WebSocket } from 'ws'
import type { Bridge } from '../bridge.js'
import { loadConfig } from '../config.js'
import { createGateway, type Gateway } from '../gateway.js'
import type { Logger } from '../logger.js'
import { createRedisBridge } from '../redis-bridge.js'
import { createStoredValuesReader } from '../stored-values.js'

export const silentLogger = pino({ level: 'silent' })

export interface TestGateway {
  readonly gateway: Gateway
  readonly bridge: Bridge
  readonly port: number
  wsUrl(query?: string): string
  httpUrl(path: string): string
  close(): Promise<void>
}

/**
 * A gateway on 127.0.0.1 and a free port, over `bridge` or a Redis bridge to `env.REDIS_URL`,
 * reading stored values from `env.DATABASE_URL` when set.
 */
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
  const storedValues = config.databaseUrl
    ? createStoredValuesReader(config.databaseUrl, config.storedTables, logger)
    : undefined
  const gateway = createGateway({
    bridge,
    ...(storedValues ? { storedValues } : {}),
    config,
    logger,
  })
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
      await storedValues?.close()
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
  /** How it closed, for error messages: code and reason. */
  private closeCode = ''

  constructor(url: string, options?: ClientOptions) {
    this.ws = new WebSocket(url, options)
    this.ws.on('message', (data: Buffer) => {
      this.received.push(JSON.parse(data.toString()) as Received)
      for (const wake of this.waiters) wake()
    })
    this.ws.on('error', () => {})
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code: number, reason: Buffer) => {
        this.closeCode = `${code} ${reason.toString()}`.trim()
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
      if (this.ws.readyState === WebSocket.CLOSED) {
        throw new Error(`closed (${this.closeCode}) before the message came`)
      }
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
