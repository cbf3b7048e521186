import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'

/** What `GET /healthz` answers: 200 while `ok`, else 503, with `body` as JSON either way. */
export interface HealthReport {
  readonly ok: boolean
  readonly body: Readonly<Record<string, unknown>>
}

export interface MetricsServerOptions {
  readonly registry: Registry
  readonly health: () => HealthReport
  readonly logger: Logger
}

/** `serve`'s HTTP port: `GET /metrics` (Prometheus text) and `GET /healthz`, nothing else. */
export interface MetricsServer {
  /** Listens on `host:port` (0: a free port) and resolves with the address. */
  listen(port: number, host: string): Promise<AddressInfo>
  /** Stops listening and closes the open connections (scrapers keep theirs alive). */
  close(): Promise<void>
}

export function createMetricsServer(options: MetricsServerOptions): MetricsServer {
  const { registry, health, logger } = options
  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      logger.error({ err: error }, 'metrics request failed')
      if (!res.headersSent) json(res, 500, { error: 'internal error' })
      else res.destroy()
    })
  })

  return {
    async listen(port, host) {
      server.listen(port, host)
      await Promise.race([
        once(server, 'listening'),
        once(server, 'error').then(([error]) => Promise.reject(error)),
      ])
      const address = server.address() as AddressInfo
      logger.info({ host: address.address, port: address.port }, 'metrics listening')
      return address
    },
    async close() {
      if (!server.listening) return
      const closed = once(server, 'close')
      server.close()
      server.closeAllConnections()
      await closed
    },
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD')
      return json(res, 405, { error: 'method not allowed' })
    }
    switch (new URL(req.url ?? '/', 'http://worker').pathname) {
      case '/metrics': {
        const text = await registry.metrics()
        res.writeHead(200, { 'content-type': registry.contentType })
        res.end(text)
        return
      }
      case '/healthz': {
        const report = health()
        return json(res, report.ok ? 200 : 503, report.body)
      }
      default:
        return json(res, 404, { error: 'not found' })
    }
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}
