import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  CloseCode,
  EVENTS_PROTOCOL,
  INDICATORS_ALL,
  NOTICE_CODES,
  NoticeCode,
  parseChannel,
  SYSTEM,
  TASKS_ALL,
  taskChannel,
} from '@stockpulse/events'
import type { RunQueue } from '@stockpulse/runs'
import { WebSocket, WebSocketServer } from 'ws'
import { createApiRoutes } from './api-routes.js'
import { type AuthResult, createAuthenticator, type Principal } from './auth.js'
import type { Bridge } from './bridge.js'
import { createClientFrames, send } from './client-frames.js'
import type { GatewayConfig } from './config.js'
import { attach, Connection, type ConnectionOwner, closeAt, kill, shut } from './connection.js'
import { createFanout } from './fanout.js'
import { textFrame, writeFrame } from './frames.js'
import { type Heartbeat, startHeartbeat } from './heartbeat.js'
import { createHttpRoutes } from './http-routes.js'
import { type Logger, pathOf } from './logger.js'
import { createMetrics, type GatewayStatsSnapshot, type Metrics, statsSnapshot } from './metrics.js'
import { createResume } from './resume.js'
import { type StaleTasks, startStaleTasks } from './stale-tasks.js'
import { createStaticFiles } from './static-files.js'
import type { StoredValuesReader } from './stored-values.js'
import { createSubscriptions } from './subscriptions.js'
import { handleUpgrades } from './upgrades.js'

/** Channels a connection joins when its URL has no `channels` (plus its own user channel). */
export const DEFAULT_CHANNELS: readonly string[] = [TASKS_ALL, INDICATORS_ALL, SYSTEM]

export interface GatewayOptions {
  readonly bridge: Bridge
  /** Runs, workers and the schedule (`/api/*`); without it (no Redis) runs are refused with 503. */
  readonly runs?: RunQueue
  /** Where `GET /api/stocks/{code}` reads stored values when DATABASE_URL is set. */
  readonly storedValues?: StoredValuesReader
  readonly config: GatewayConfig
  readonly logger: Logger
}

export interface Gateway {
  /** The HTTP server; it listens only after `listen()`. */
  readonly server: Server
  readonly metrics: Metrics
  /** Listens on config.host:config.port and starts the heartbeat sweep. */
  listen(): Promise<AddressInfo>
  /** The body of `GET /ws/stats`. */
  stats(): GatewayStatsSnapshot
  /** Stops accepting, closes every client with SHUTDOWN, then the server. The bridge stays open. */
  close(): Promise<void>
}

type BridgeNotice = typeof NoticeCode.BRIDGE_UP | typeof NoticeCode.BRIDGE_DOWN

/** How long clients get to answer SHUTDOWN before their sockets are cut. */
const SHUTDOWN_GRACE_MS = 1_500

/**
 * The WebSocket gateway: `ws://HOST:PORT/ws/events?channels=a,b&token=...` plus its HTTP
 * endpoints, fed by a bridge. Nothing listens until `listen()`.
 */
export function createGateway(options: GatewayOptions): Gateway {
  const { bridge, config, logger } = options
  const connections = new Set<Connection>()
  const subscriptions = createSubscriptions(bridge)
  let staleTasks: StaleTasks | undefined
  const metrics = createMetrics({
    connections: () => connections.size,
    pendingConnections: () => upgrades.sockets - connections.size,
    queuedSubscribes: () => queuedSubscribes(),
    heldEvents: () => subscriptions.heldEvents(),
    resumes: () => ({ running: resume.running, waiting: resume.waiting }),
    subscriptionsByFamily: () => subscriptions.byFamily(),
    bridgeReady: () => bridge.state === 'ready',
    staleTasks: () => staleTasks?.count ?? 0,
  })
  const { stats } = metrics
  const fanout = createFanout({
    subscriptions,
    metrics,
    logger,
    maxClientBufferBytes: config.maxClientBufferBytes,
    maxEventBytes: config.maxEventBytes,
    maxHeldEvents: config.maxHeldEvents,
  })
  const resume = createResume({
    bridge,
    subscriptions,
    fanout,
    stats,
    logger,
    maxClientBufferBytes: config.maxClientBufferBytes,
    drainTimeoutMs: config.resumeDrainTimeoutMs,
    staleTaskMs: config.staleTaskMs,
  })
  const frames = createClientFrames({
    subscriptions,
    fanout,
    resume,
    maxSubscriptions: config.maxSubscriptionsPerConnection,
    subscribeRate: config.subscribeRate,
    subscribeBurst: config.subscribeBurst,
    maxQueuedSubscribes: config.maxQueuedSubscribes,
    logger,
  })
  const authenticator = createAuthenticator(config.auth)
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: config.maxPayloadBytes,
    WebSocket: Connection,
    // Browsers send their token as a `bearer.<jwt>` subprotocol; only `stockpulse` is answered.
    handleProtocols: (protocols) => (protocols.has(EVENTS_PROTOCOL) ? EVENTS_PROTOCOL : false),
    // Not in @types/ws yet: how long a closing peer may take before its socket is destroyed.
    ...{ closeTimeout: 5_000 },
  })
  const owner: ConnectionOwner = {
    frame(connection, data, isBinary) {
      if (connections.has(connection) && connection.readyState === WebSocket.OPEN) {
        frames.handle(connection, data, isBinary)
      }
    },
    closed(connection, code) {
      stats.closes.set(code, (stats.closes.get(code) ?? 0) + 1)
      clearTimeout(connection.expiry)
      connection.work.length = 0
      if (!connections.delete(connection)) return
      subscriptions.removeAll(connection)
      connection.queue.length = 0
      connection.pending = undefined
      logger.debug({ connection: connection.id, code }, 'connection closed')
    },
    failed(connection, error) {
      if ((error as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        connection.closedWith ??= CloseCode.MESSAGE_TOO_BIG
      }
      logger.debug({ connection: connection.id, error: error.message }, 'connection failed')
    },
  }
  const gatewayStats = (): GatewayStatsSnapshot =>
    statsSnapshot(stats, {
      connections: connections.size,
      pendingConnections: upgrades.sockets - connections.size,
      queuedSubscribes: queuedSubscribes(),
      heldEvents: subscriptions.heldEvents(),
      resumes: { running: resume.running, waiting: resume.waiting },
      channels: subscriptions.byChannel(),
      congested: fanout.congested,
      bridge: { kind: bridge.kind, state: bridge.state },
      staleTasks: staleTasks?.count ?? 0,
    })

  const server = createServer(
    {
      // A request (or WebSocket upgrade) must send its headers within the timeout; checked often
      // enough that a trickling client is cut close to it.
      headersTimeout: config.upgradeTimeoutMs,
      requestTimeout: config.upgradeTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, config.upgradeTimeoutMs),
    },
    createHttpRoutes({
      stats: gatewayStats,
      bridgeState: () => bridge.state,
      registry: metrics.registry,
      history: bridge.history,
      invalidRuns: (count) => {
        stats.dropped.invalid_history += count
      },
      defaultChannels: DEFAULT_CHANNELS,
      staticFiles: config.staticDir ? createStaticFiles(config.staticDir) : undefined,
      api: createApiRoutes({
        history: bridge.history,
        ...(options.storedValues ? { storedValues: options.storedValues } : {}),
        databaseFailed: () => {
          stats.databaseReadFailures++
        },
        authenticator,
        invalidStored: (count) => {
          stats.dropped.invalid_history += count
        },
        logger,
      }),
      runs: options.runs,
      authorize: authenticator.authorize,
      logger,
    }),
  )
  const upgrades = handleUpgrades({
    server,
    wss,
    authenticator,
    allowedOrigins: config.allowedOrigins,
    timeoutMs: config.upgradeTimeoutMs,
    closing: () => closing,
    accept,
  })
  let bridgeUp = bridge.state === 'ready'
  bridge.listen({
    message(channel, text) {
      try {
        fanout.publish(channel, text)
      } catch (error) {
        stats.dropped.failed++
        logger.error({ channel, error: (error as Error).message }, 'failed to route an event')
      }
    },
    state(state) {
      if (state === 'closed' || (state === 'ready') === bridgeUp) return
      bridgeUp = state === 'ready'
      notifyAll(bridgeUp ? NoticeCode.BRIDGE_UP : NoticeCode.BRIDGE_DOWN)
    },
  })
  let heartbeat: Heartbeat | undefined
  let closing = false

  return {
    server,
    metrics,
    async listen() {
      server.listen(config.port, config.host)
      await once(server, 'listening')
      heartbeat = startHeartbeat({
        timeoutMs: config.heartbeatTimeoutMs,
        intervalMs: config.sweepIntervalMs,
        connections: () => connections,
      })
      if (bridge.history) {
        staleTasks = startStaleTasks({
          history: bridge.history,
          staleMs: config.staleTaskMs,
          intervalMs: config.sweepIntervalMs,
          logger,
          notify: notifyStale,
        })
      }
      const address = server.address() as AddressInfo
      logger.info({ host: address.address, port: address.port, bridge: bridge.kind }, 'listening')
      if (!authenticator.required) {
        logger.warn(
          'auth is off (no AUTH_JWT_SECRET or AUTH_JWKS_URL): anyone who reaches this port may read every public channel, /ws/stats, /ws/history and /metrics, and start and cancel runs',
        )
      }
      return address
    },
    stats: gatewayStats,
    async close() {
      if (closing) return
      closing = true
      heartbeat?.stop()
      staleTasks?.stop()
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const connection of connections)
        shut(connection, CloseCode.SHUTDOWN, 'server shutting down')
      const deadline = Date.now() + SHUTDOWN_GRACE_MS
      while (connections.size > 0 && Date.now() < deadline) await sleep(20)
      for (const connection of connections) kill(connection)
      fanout.stop()
      server.closeAllConnections()
      await stopped
    },
  }

  /** Accepts a socket; refusals are closes, so that a browser can read their code. */
  function accept(
    connection: Connection,
    verdict: AuthResult,
    url: URL,
    req: IncomingMessage,
  ): void {
    attach(connection, owner)
    let refusal: { closeCode: number; reason: string } | undefined
    if (!verdict.ok) refusal = verdict
    else if (closing) refusal = { closeCode: CloseCode.SHUTDOWN, reason: 'server shutting down' }
    else if (upgrades.sockets > config.maxConnections) {
      // Every TCP connection counts, this one included: upgrades still trickling in their
      // headers, and plain requests, take the same resources as an open WebSocket.
      refusal = { closeCode: CloseCode.SERVER_FULL, reason: 'server full' }
    }
    if (refusal) {
      logger.info(
        {
          path: pathOf(req.url),
          origin: req.headers.origin,
          code: refusal.closeCode,
          reason: refusal.reason,
        },
        'connection refused',
      )
      shut(connection, refusal.closeCode, refusal.reason)
      return
    }
    const principal = verdict.ok ? verdict.principal : undefined
    connection.id = randomUUID()
    connection.principal = principal
    connection.batch = url.searchParams.get('batch') === '1'
    connection.lastFrameAt = Date.now()
    connections.add(connection)
    if (principal) closeAt(connection, principal.expiresAt)
    send(connection, {
      type: 'connected',
      connection_id: connection.id,
      ...(principal ? { user_id: principal.userId } : {}),
      heartbeat_timeout_s: config.heartbeatTimeoutMs / 1000,
      batch: connection.batch,
    })
    if (!bridgeUp) notify(connection, textFrame(noticeText(NoticeCode.BRIDGE_DOWN)))
    const requested = url.searchParams.get('channels')
    frames.subscribe(connection, requested === null ? defaultsFor(principal) : list(requested))
    logger.debug({ connection: connection.id, user: principal?.userId }, 'connection accepted')
  }

  function queuedSubscribes(): number {
    let queued = 0
    for (const connection of connections) queued += connection.work.length
    return queued
  }

  function notifyAll(code: BridgeNotice): void {
    const frame = textFrame(noticeText(code))
    for (const connection of connections) notify(connection, frame)
  }

  /** Tells the subscribers of `events:tasks` and of the task's own channel, each once. */
  function notifyStale(taskId: string, notice: string): void {
    const frame = textFrame(notice)
    const own = subscriptions.lookup(taskChannel(taskId))?.members
    const all = subscriptions.lookup(TASKS_ALL)?.members
    for (const connection of own ?? []) notify(connection, frame)
    for (const connection of all ?? []) if (!own?.has(connection)) notify(connection, frame)
  }
}

// ---- Helpers ----

function notify(connection: Connection, frame: readonly Buffer[]): void {
  if (connection.readyState === WebSocket.OPEN) writeFrame(connection, frame)
}

function noticeText(code: BridgeNotice): string {
  const [, message] =
    code === NoticeCode.BRIDGE_UP ? NOTICE_CODES.BRIDGE_UP : NOTICE_CODES.BRIDGE_DOWN
  return JSON.stringify({ type: 'notice', code, message })
}

function defaultsFor(principal: Principal | undefined): readonly string[] {
  const own = principal && parseChannel(`events:user:${principal.userId}`)
  return own?.ok ? [...DEFAULT_CHANNELS, own.channel.name] : DEFAULT_CHANNELS
}

function list(channels: string): string[] {
  return channels
    .split(',')
    .map((channel) => channel.trim())
    .filter((channel) => channel !== '')
}
