import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { CloseCode } from '@stockpulse/events'
import type { WebSocketServer } from 'ws'
import { type Authenticator, type AuthResult, upgradeToken } from './auth.js'
import type { Connection } from './connection.js'

export interface UpgradesOptions {
  readonly server: Server
  /** The `noServer` WebSocket server that completes handshakes. */
  readonly wss: WebSocketServer
  readonly authenticator: Authenticator
  /** ALLOWED_ORIGINS; `undefined` lets every origin in. */
  readonly allowedOrigins: ReadonlySet<string> | undefined
  /** UPGRADE_TIMEOUT_S: from the request's headers to the completed handshake. */
  readonly timeoutMs: number
  /** True once the gateway is shutting down: new upgrades get 503. */
  readonly closing: () => boolean
  /** Takes a socket whose handshake completed, with the verdict on its origin and token. */
  readonly accept: (
    connection: Connection,
    verdict: AuthResult,
    url: URL,
    req: IncomingMessage,
  ) => void
}

export interface Upgrades {
  /** TCP connections of the server: WebSockets, upgrades in progress and plain requests. */
  readonly sockets: number
}

/**
 * Turns `GET /ws/events` upgrade requests into accepted sockets: the origin and the token are
 * checked before the handshake (so a refusal is a close code a browser can read), and a request
 * whose check takes longer than the timeout is cut. Counts every TCP connection of the server.
 */
export function handleUpgrades(options: UpgradesOptions): Upgrades {
  const { server, wss, authenticator, allowedOrigins, timeoutMs, closing, accept } = options
  let sockets = 0
  server.on('connection', (socket: Duplex) => {
    sockets++
    socket.once('close', () => sockets--)
  })
  server.on('upgrade', upgrade)
  return {
    get sockets() {
      return sockets
    },
  }

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://gateway')
    if (url.pathname !== '/ws/events' || closing()) {
      socket.end(`HTTP/1.1 ${closing() ? '503 Service Unavailable' : '404 Not Found'}\r\n\r\n`)
      return
    }
    // The token is checked before the handshake completes; the socket must not crash us meanwhile.
    socket.on('error', ignore)
    const timer = setTimeout(() => socket.destroy(), timeoutMs)
    void admit(req, url).then((verdict) => {
      clearTimeout(timer)
      if (socket.destroyed) return
      wss.handleUpgrade(req, socket, head, (ws) => {
        socket.off('error', ignore)
        accept(ws as Connection, verdict, url, req)
      })
    })
  }

  async function admit(req: IncomingMessage, url: URL): Promise<AuthResult> {
    const origin = req.headers.origin
    // Browsers always send Origin; clients that omit it are not browsers and could forge it anyway.
    if (allowedOrigins && origin !== undefined && !allowedOrigins.has(origin)) {
      return { ok: false, closeCode: CloseCode.FORBIDDEN_ORIGIN, reason: 'origin not allowed' }
    }
    return authenticator.authenticate(upgradeToken(req, url))
  }
}

function ignore(): void {}
