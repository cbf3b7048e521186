import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  CHANNEL_CATALOGUE,
  DEFAULT_RUN_HISTORY,
  parseEvent,
  RunErrorCode,
  type ScheduleResponse,
  Scope,
} from '@stockpulse/events'
import type { RunQueue } from '@stockpulse/runs'
import { MAX_RUN_REQUEST_BYTES, parseRunRequest, refusal } from '@stockpulse/runs/requests'
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
  /** Where runs are submitted and cancelled, workers and the schedule read; undefined: no Redis. */
  readonly runs: RunQueue | undefined
  /** Checks a request's Bearer token (and scope); lets everything in when auth is off. */
  readonly authorize: Authenticator['authorize']
  readonly logger: Logger
}

/**
 * The gateway's plain HTTP requests: stats, channel catalogue, health, metrics, runs, workers,
 * the schedule, the dashboard. With auth on, `/ws/stats`, `/ws/channels` and `/metrics` need a
 * token with the admin scope, `POST /api/runs` and `POST /api/runs/{id}/cancel` one with the
 * operate scope, `/ws/history`, `/api/workers` and `/api/schedule` a valid token; `/healthz` and
 * the dashboard's files stay open.
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
    runs,
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
    const url = urlOf(req)
    const path = url.pathname
    const run = RUN_PATH.exec(path)
    if (path === '/api/runs' || run) {
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST')
        return json(res, 405, { error: 'method not allowed' })
      }
      return control(req, res, run?.[1])
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD')
      return json(res, 405, { error: 'method not allowed' })
    }
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
      case '/api/workers':
        return workers(res)
      case '/api/schedule':
        return schedule(res)
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

  /** `POST /api/runs` (no id) and `POST /api/runs/{id}/cancel`: RunAccepted or ApiRefusal. */
  async function control(
    req: IncomingMessage,
    res: ServerResponse,
    taskId: string | undefined,
  ): Promise<void> {
    const verdict = await authorize(req, Scope.OPERATE)
    if (!verdict.ok) {
      if (verdict.status === 401) res.setHeader('www-authenticate', 'Bearer')
      req.resume()
      return json(res, verdict.status, {
        error: AUTH_ERRORS[verdict.status],
        reason: verdict.reason,
      })
    }
    if (!isJson(req.headers['content-type'])) {
      req.resume()
      return json(res, 415, {
        error: RunErrorCode.UNSUPPORTED_MEDIA_TYPE,
        reason: 'the body must be sent as content-type: application/json',
      })
    }
    const body = await readBody(req, MAX_RUN_REQUEST_BYTES)
    if (body === undefined) {
      const outcome = refusal(
        400,
        RunErrorCode.INVALID_REQUEST,
        `the body is larger than ${MAX_RUN_REQUEST_BYTES} bytes`,
      )
      res.setHeader('connection', 'close')
      return json(res, outcome.status, outcome.body)
    }
    if (!runs) {
      const outcome = refusal(
        503,
        RunErrorCode.UNAVAILABLE,
        'runs need Redis: this gateway runs without it',
      )
      return json(res, outcome.status, outcome.body)
    }
    if (taskId !== undefined) {
      const outcome = await runs.cancel(decodedOrEmpty(taskId), 'cancelled over HTTP')
      logger.info({ task_id: taskId, status: outcome.status }, 'run cancel requested')
      return json(res, outcome.status, outcome.body)
    }
    const parsed = parseRunRequest(body)
    if (!parsed.ok) return json(res, parsed.outcome.status, parsed.outcome.body)
    const outcome = await runs.submit(parsed.request, {
      trigger: 'api',
      ...(verdict.principal === undefined ? {} : { userId: verdict.principal.userId }),
    })
    logger.info(
      {
        status: outcome.status,
        ...(outcome.status === 202 ? { task_id: outcome.body.task_id } : {}),
      },
      'run requested',
    )
    json(res, outcome.status, outcome.body)
  }

  /** `WorkersResponse`: the workers heard from in the last 10 minutes. */
  async function workers(res: ServerResponse): Promise<void> {
    if (!runs) return json(res, 200, { workers: [] })
    try {
      json(res, 200, { workers: await runs.workers() })
    } catch {
      json(res, 503, { error: 'workers unavailable: Redis cannot be read' })
    }
  }

  /** `ScheduleResponse`: the fleet's schedule; empty cron and tz while no worker has set it. */
  async function schedule(res: ServerResponse): Promise<void> {
    const none: ScheduleResponse = { cron: '', tz: '', next_run_at: null }
    if (!runs) return json(res, 200, none)
    try {
      const info = await runs.schedule()
      const body: ScheduleResponse = info
        ? { cron: info.cron, tz: info.tz, next_run_at: info.nextRunAt?.toISOString() ?? null }
        : none
      json(res, 200, body)
    } catch {
      json(res, 503, { error: 'schedule unavailable: Redis cannot be read' })
    }
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

/** The `error` of a refusal by auth, by status. */
const AUTH_ERRORS = { 401: 'unauthorized', 403: 'forbidden', 503: 'unavailable' } as const

/** `POST /api/runs/{task_id}/cancel`. */
const RUN_PATH = /^\/api\/runs\/([^/]{1,200})\/cancel$/

/** Most runs one `GET /ws/history` returns. */
const MAX_RUNS = 100

/** Endpoints behind a token: `admin` needs the admin scope too. */
const ACCESS: ReadonlyMap<string, 'token' | 'admin'> = new Map([
  ['/ws/stats', 'admin'],
  ['/ws/channels', 'admin'],
  ['/metrics', 'admin'],
  ['/ws/history', 'token'],
  ['/api/workers', 'token'],
  ['/api/schedule', 'token'],
])

function urlOf(req: IncomingMessage): URL {
  return new URL(req.url ?? '/', 'http://gateway')
}

/** The request body as text, or undefined when it is longer than `limit` bytes (then left unread). */
async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const declared = Number(req.headers['content-length'])
  if (declared > limit) return undefined
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) return undefined
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

// `application/json`, with or without parameters (`; charset=utf-8`).
function isJson(contentType: string | undefined): boolean {
  return contentType?.split(';', 1)[0]?.trim().toLowerCase() === 'application/json'
}

/** A path segment decoded; '' (no run has it) when it is not valid percent-encoding. */
function decodedOrEmpty(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return ''
  }
}
