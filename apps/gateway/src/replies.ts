import type { ServerResponse } from 'node:http'

/** Answers with `body` as JSON, never cached. */
export function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, JSON.stringify(body))
}

/** Answers with a JSON text as it is, never cached. */
export function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  })
  res.end(body)
}
