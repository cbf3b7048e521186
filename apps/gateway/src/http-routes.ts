import type { IncomingMessage, ServerResponse } from 'node:http'
import { CHANNEL_CATALOGUE } from '@stockpulse/events'
import type { Registry } from 'prom-client'
import type { BridgeState } from './bridge.js'
import type { Logger } from './logger.js'
import type { StaticFiles } from './static-files.js'

export interface HttpRoutesOptions {
  /** The body of `GET /ws/stats`. */
  readonly stats: () => object
  readonly bridgeState: () => BridgeState
  readonly registry: Registry
  /** Channels a connection joins when its URL names none. */
  readonly defaultChannels: readonly string[]
  readonly staticFiles: StaticFiles | undefined
  readonly logger: Logger
}

/** The gateway's plain HTTP requests: stats, channel catalogue, health, metrics, the dashboard. */
export function createHttpRoutes(
  options: HttpRoutesOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { stats, bridgeState, registry, defaultChannels, staticFiles, logger } = options
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
      logger.error({ error: error.message, path: pathname(req) }, 'http request failed')
      if (!res.headersSent) json(res, 500, { error: 'internal error' })
      else res.destroy()
    })
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD')
      return json(res, 405, { error: 'method not allowed' })
    }
    const path = pathname(req)
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
      case '/metrics':
        res.writeHead(200, { 'content-type': registry.contentType })
        res.end(await registry.metrics())
        return
      case '/ws/events':
        return json(res, 426, { error: 'connect with a WebSocket' })
    }
    if (staticFiles) return staticFiles(req, res, path)
    json(res, 404, { error: 'not found' })
  }
}

function pathname(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://gateway').pathname
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  })
  res.end(JSON.stringify(body))
}
