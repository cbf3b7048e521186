import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { type WebSocket, WebSocketServer } from 'ws'

/** One browser connection as the test server sees it. */
export interface ServerConnection {
  readonly socket: WebSocket
  /** The request URL, e.g. to read `?channels=`. */
  readonly url: URL
  /** The subprotocols the client offered (`Sec-WebSocket-Protocol`). */
  readonly protocols: string[]
  /** Frames received so far, parsed. */
  readonly received: unknown[]
  /** Sends an object as JSON, or a string as is. */
  send(frame: object | string): void
}

/** A real ws server on a free port that a test scripts frame by frame, and answers HTTP GETs. */
export interface TestServer {
  readonly url: string
  /** The http:// origin, e.g. for `resolveConfig`. */
  readonly origin: string
  /** Every connection accepted so far, oldest first. */
  readonly connections: ServerConnection[]
  /** Resolves with the next connection (or the n-th, counting from 1, if it already came). */
  connection(n: number): Promise<ServerConnection>
  /** Answers `GET path` (any query) with this status and JSON body from now on; 404 until then. */
  respond(path: string, status: number, body: unknown): void
  /** `respond`, unless `path` has an answer already. */
  respondUnlessSet(path: string, status: number, body: unknown): void
  close(): Promise<void>
}

/** Starts an HTTP and WebSocket server on 127.0.0.1 port 0. */
export async function startTestServer(): Promise<TestServer> {
  const answers = new Map<string, { status: number; body: string }>()
  const http = createServer((request, response) => {
    // The page under test (happy-dom) is of another origin, and asks first (OPTIONS).
    // No keep-alive: a socket cut by close() would be reported by the page's fetch.
    const cors = {
      'access-control-allow-origin': '*',
      'access-control-allow-headers': '*',
      connection: 'close',
    }
    if (request.method === 'OPTIONS') return void response.writeHead(204, cors).end()
    const answer = answers.get(new URL(request.url ?? '/', 'http://127.0.0.1').pathname)
    response.writeHead(answer?.status ?? 404, { ...cors, 'content-type': 'application/json' })
    response.end(answer?.body ?? '{}')
  })
  const wss = new WebSocketServer({ server: http })
  http.listen(0, '127.0.0.1')
  await once(http, 'listening')
  const connections: ServerConnection[] = []
  const waiting: Array<() => void> = []
  wss.on('connection', (socket, request) => {
    const received: unknown[] = []
    socket.on('message', (data) => received.push(JSON.parse(String(data))))
    connections.push({
      socket,
      url: new URL(request.url ?? '/', 'http://127.0.0.1'),
      protocols: (request.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((protocol) => protocol.trim())
        .filter((protocol) => protocol !== ''),
      received,
      send: (frame) => socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    })
    for (const wake of waiting.splice(0)) wake()
  })
  const { port } = http.address() as AddressInfo
  return {
    url: `ws://127.0.0.1:${port}/ws/events`,
    origin: `http://127.0.0.1:${port}`,
    connections,
    async connection(n) {
      while (connections.length < n) await new Promise<void>((resolve) => waiting.push(resolve))
      return connections[n - 1]!
    },
    respond(path, status, body) {
      answers.set(path, { status, body: JSON.stringify(body) })
    },
    respondUnlessSet(path, status, body) {
      if (!answers.has(path)) answers.set(path, { status, body: JSON.stringify(body) })
    },
    async close() {
      for (const client of wss.clients) client.terminate()
      await new Promise<void>((resolve, reject) =>
        wss.close((error) => (error ? reject(error) : resolve())),
      )
      // Requests on their way are answered (each response ends its socket), none is cut.
      const closed = new Promise<void>((resolve, reject) =>
        http.close((error) => (error ? reject(error) : resolve())),
      )
      http.closeIdleConnections()
      await closed
    },
  }
}

/**
 * Retries `assertion` on real time until it passes or `timeoutMs` ends, without moving fake timers
 * (unlike `vi.waitFor`), so tests can assert exact timer bounds while real sockets deliver.
 */
export async function eventually(assertion: () => void, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    try {
      assertion()
      return
    } catch (error) {
      if (performance.now() > deadline) throw error
      await sleep(5)
    }
  }
}
