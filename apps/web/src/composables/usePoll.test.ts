// @vitest-environment node
// Node's own fetch: happy-dom's would apply CORS between its blank page and this server.
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type EffectScope, effectScope } from 'vue'
import { eventually } from '../test-support/ws-server'
import { type UsePollReturn, usePoll } from './usePoll'

describe('usePoll', () => {
  let server: Server
  let url: string
  let scope: EffectScope
  let status = 200
  let requests = 0
  let authorization: string | undefined
  let body: (() => unknown) | undefined

  beforeEach(async () => {
    status = 200
    requests = 0
    body = undefined
    server = createServer((req, res) => {
      requests += 1
      authorization = req.headers.authorization
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body ? body() : { connections: requests }))
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ws/stats`
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    scope = effectScope()
  })

  afterEach(async () => {
    scope.stop()
    vi.useRealTimers()
    server.close()
    await once(server, 'close')
  })

  it('polls every interval, keeps the last body, reports failures, stops with its scope', async () => {
    const stats: UsePollReturn<unknown> = scope.run(() => usePoll({ url, intervalMs: 3_000 }))!
    await eventually(() => expect(stats.data.value).toEqual({ connections: 1 }))
    expect(stats.error.value).toBeUndefined()

    await vi.advanceTimersByTimeAsync(2_999)
    expect(requests).toBe(1)
    status = 503
    await vi.advanceTimersByTimeAsync(1)
    await eventually(() => expect(stats.error.value).toBe('HTTP 503'))
    expect(stats.data.value).toEqual({ connections: 1 })

    scope.stop()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(requests).toBe(2)
    expect(authorization).toBeUndefined()
  })

  it('sends the token as a Bearer header', async () => {
    const stats = scope.run(() => usePoll({ url, token: () => 'admin.jwt.sig' }))!
    await eventually(() => expect(stats.data.value).toEqual({ connections: 1 }))
    expect(authorization).toBe('Bearer admin.jwt.sig')
  })

  it("passes a refusal's reason and code on, and refuses a body its parser rejects", async () => {
    status = 503
    body = () => ({ error: 'needs_redis', reason: 'Runs need Redis.' })
    const workers = scope.run(() =>
      usePoll({ url, parse: (b) => ((b as { ok?: unknown }).ok === true ? b : undefined) }),
    )!
    await eventually(() => expect(workers.error.value).toBe('Runs need Redis.'))
    expect(workers.errorCode.value).toBe('needs_redis')
    status = 200
    body = () => ({ ok: 'yes' })
    await vi.advanceTimersByTimeAsync(3_000)
    await eventually(() => expect(workers.error.value).toBe('the answer breaks the contract'))
    body = () => ({ ok: true })
    await vi.advanceTimersByTimeAsync(3_000)
    await eventually(() => expect(workers.data.value).toEqual({ ok: true }))
    expect(workers.error.value).toBeUndefined()
  })
})
