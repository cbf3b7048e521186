// @vitest-environment node
// Node's own fetch: happy-dom's would apply CORS between its blank page and this server.
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type EffectScope, effectScope } from 'vue'
import { eventually } from '../test-support/ws-server'
import { type UseGatewayStatsReturn, useGatewayStats } from './useGatewayStats'

describe('useGatewayStats', () => {
  let server: Server
  let url: string
  let scope: EffectScope
  let status = 200
  let requests = 0
  let authorization: string | undefined

  beforeEach(async () => {
    status = 200
    requests = 0
    server = createServer((req, res) => {
      requests += 1
      authorization = req.headers.authorization
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ connections: requests }))
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
    const stats: UseGatewayStatsReturn = scope.run(() =>
      useGatewayStats({ url, intervalMs: 3_000 }),
    )!
    await eventually(() => expect(stats.stats.value).toEqual({ connections: 1 }))
    expect(stats.error.value).toBeUndefined()

    await vi.advanceTimersByTimeAsync(2_999)
    expect(requests).toBe(1)
    status = 503
    await vi.advanceTimersByTimeAsync(1)
    await eventually(() => expect(stats.error.value).toBe('HTTP 503'))
    expect(stats.stats.value).toEqual({ connections: 1 })

    scope.stop()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(requests).toBe(2)
    expect(authorization).toBeUndefined()
  })

  it('sends the token as a Bearer header', async () => {
    const stats = scope.run(() => useGatewayStats({ url, token: () => 'admin.jwt.sig' }))!
    await eventually(() => expect(stats.stats.value).toEqual({ connections: 1 }))
    expect(authorization).toBe('Bearer admin.jwt.sig')
  })
})
