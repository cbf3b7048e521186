import type { IncomingMessage, ServerResponse } from 'node:http'
import { CHANNEL_CATALOGUE, DEFAULT_RUN_HISTORY, parseEvent, Scope } from '@stockpulse/events'
import type { Registry } from 'prom-client'
import type { ApiRoutes } from './api-routes.js'
import type { Authenticator } from './auth.js'
import type { BridgeState } from './bridge.js'
import { HistoryUnavailableError } from './errors.js'
import type { History } from './history.js'
import type { Logger } from './logger.js'
import { json, send } from './replies.js'
import type { StaticFiles } from './static-files.js'

export interface HttpRoutesOptions {
  /** The body of `GET /ws/stats`. */
  readonly stats: () => object
  readonly bridgeState: () => BridgeState
  readonly registry: Registry
  /** Where `GET /ws/history` reads the last runs; undefined (the bus) serves none. */
  readonly history: History | undefined
  /** Counts runs dropped from `GET /ws/history` for breaking the contract. */
  readonly invalidRuns: (count: number) => void
  /** Channels a connection joins when its URL names none. */
  readonly defaultChannels: readonly string[]
  readonly staticFiles: StaticFiles | undefined
  /** The dashboard's JSON endpoints under `/api/`. */
  readonly api: ApiRoutes
  /** Checks a request's Bearer token (and scope); lets everything in when auth is off. */
  readonly authorize: Authenticator['authorize']
  readonly logger: Logger
}

/**
 * The gateway's plain HTTP requests: stats, channel catalogue, health, metrics, the dashboard.
 * With auth on, `/ws/stats`, `/ws/channels` and `/metrics` need a token with the admin scope,
 * `/ws/history` a valid token; `/healthz` and the dashboard's files stay open.
 */
export function createHttpRoutes(
  options: HttpRoutesOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const {
    stats,
    bridgeState,
    registry,
    history,
    invalidRuns,
    defaultChannels,
    staticFiles,
    api,
    authorize,
    logger,
  } = options
  const channels = {
    channels: CHANNEL_CATALOGUE.map(({ pattern, kind, description, event_types }) => ({
      name: pattern,
      kind,
      description,
      event_types,
    })),
    default_channels: defaultChannels,
  }
  return (req, res) => {
    route(req, res).catch((error: Error) => {
      logger.error({ error: error.message, path: urlOf(req).pathname }, 'http request failed')
      if (!res.headersSent) json(res, 500, { error: 'internal error' })
      else res.destroy()
    })
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD')
      return json(res, 405, { error: 'method not allowed' })
    }
    const url = urlOf(req)
    const path = url.pathname
    if (path === '/api/session' || path.startsWith('/api/stocks/')) return api(req, res, path)
    const needs = ACCESS.get(path)
    if (needs) {
      const verdict = await authorize(req, needs === 'admin' ? Scope.ADMIN : undefined)
      if (!verdict.ok) {
        if (verdict.status === 401) res.setHeader('www-authenticate', 'Bearer')
        return json(res, verdict.status, { error: verdict.reason })
      }
    }
    switch (path) {
      case '/healthz': {
        const bridge = bridgeState()
        return json(res, bridge === 'ready' ? 200 : 503, {
          status: bridge === 'ready' ? 'ok' : 'unavailable',
          bridge,
        })
      }
      case '/ws/stats':
        return json(res, 200, stats())
      case '/ws/channels':
        return json(res, 200, channels)
      case '/ws/history':
        return runHistory(url.searchParams.get('limit'), res)
      case '/metrics':
        res.writeHead(200, { 'content-type': registry.contentType })
        res.end(await registry.metrics())
        return
      case '/ws/events':
        return json(res, 426, { error: 'connect with a WebSocket' })
    }
    if (path.startsWith('/api/')) {
      return json(res, 404, {
        error: 'not_found',
        reason: `There is no ${path.slice(0, 80)} endpoint.`,
      })
    }
    if (staticFiles) return staticFiles(req, res, path)
    json(res, 404, { error: 'not found' })
  }

  /** `RunHistoryResponse`: the last runs, newest first, each exactly as the worker stored it. */
  async function runHistory(rawLimit: string | null, res: ServerResponse): Promise<void> {
    const limit = rawLimit === null ? DEFAULT_RUN_HISTORY : Number(rawLimit)
    if (!/^\d+$/.test(rawLimit ?? '1') || limit < 1 || limit > MAX_RUNS) {
      return json(res, 400, { error: `limit must be an integer from 1 to ${MAX_RUNS}` })
    }
    if (!history) return json(res, 200, { runs: [] })
    let runs: string[]
    try {
      runs = await history.runs(limit)
    } catch (error) {
      if (!(error instanceof HistoryUnavailableError)) throw error
      return json(res, 503, { error: 'run history unavailable: Redis cannot be read' })
    }
    const valid = runs.filter((text) => {
      const parsed = parseEvent(text)
      return parsed.ok && parsed.value.event_type === 'task.completed'
    })
    if (valid.length < runs.length) {
      invalidRuns(runs.length - valid.length)
      logger.warn({ invalid: runs.length - valid.length }, 'dropped invalid runs from the history')
    }
    send(res, 200, `{"runs":[${valid.join(',')}]}`)
  }
}

/** Most runs one `GET /ws/history` returns. */
const MAX_RUNS = 100

/** Endpoints behind a token: `admin` needs the admin scope too. */
const ACCESS: ReadonlyMap<string, 'token' | 'admin'> = new Map([
  ['/ws/stats', 'admin'],
  ['/ws/channels', 'admin'],
  ['/metrics', 'admin'],
  ['/ws/history', 'token'],
])

function urlOf(req: IncomingMessage): URL {
  return new URL(req.url ?? '/', 'http://gateway')
}
