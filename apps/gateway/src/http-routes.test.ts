import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CHANNEL_CATALOGUE, createMemoryBus } from '@stockpulse/events'
import { until } from '@stockpulse/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { taskProgress } from '../bench/job.js'
import { createBusBridge } from './bus-bridge.js'
import { startGateway, TestClient, type TestGateway } from './test-support/gateway.js'

const bus = createMemoryBus()
let test: TestGateway
let parent: string

beforeAll(async () => {
  // parent/gateway-secret.txt must never be served from parent/site.
  parent = mkdtempSync(join(tmpdir(), 'gateway-static-'))
  const site = join(parent, 'site')
  mkdirSync(join(site, 'assets'), { recursive: true })
  mkdirSync(join(site, 'docs'))
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>StockPulse</title>')
  writeFileSync(join(site, 'assets', 'index-4f2a.js'), 'console.log(1)')
  writeFileSync(join(site, 'assets', 'index-4f2a.css'), 'body{}')
  writeFileSync(join(site, 'favicon.svg'), '<svg/>')
  writeFileSync(join(site, 'docs', 'index.html'), '<p>docs</p>')
  writeFileSync(join(parent, 'gateway-secret.txt'), 'TOP-SECRET')
  // Links out of the directory, and dotfiles in it, are never served either.
  symlinkSync(join(parent, 'gateway-secret.txt'), join(site, 'linked.txt'))
  symlinkSync(parent, join(site, 'assets', 'up'))
  symlinkSync(join(site, 'favicon.svg'), join(site, 'icon.svg'))
  writeFileSync(join(site, '.env'), 'TOP-SECRET')
  mkdirSync(join(site, '.git'))
  writeFileSync(join(site, '.git', 'config'), 'TOP-SECRET')
  test = await startGateway({ STATIC_DIR: site }, { bridge: createBusBridge(bus) })
})
afterAll(async () => {
  await test.close()
  rmSync(parent, { recursive: true, force: true })
})

async function get(path: string, init?: RequestInit) {
  const res = await fetch(test.httpUrl(path), init)
  return { status: res.status, type: res.headers.get('content-type'), res, body: await res.text() }
}

/** A request with the path sent exactly as written (fetch would normalise `..` away). */
function rawGet(path: string, host = 'x'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(test.port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)
    })
    let response = ''
    socket.on('data', (data) => {
      response += data.toString()
    })
    socket.on('end', () => resolve(response))
    socket.on('error', reject)
  })
}

describe('http-routes', () => {
  it('GET /healthz is 200 while the bridge is ready', async () => {
    const { status, body } = await get('/healthz')
    expect(status).toBe(200)
    expect(JSON.parse(body)).toEqual({ status: 'ok', bridge: 'ready' })
  })

  it('GET /ws/channels serves the catalogue of the contract and the default channels', async () => {
    const { status, type, body } = await get('/ws/channels')
    expect(status).toBe(200)
    expect(type).toBe('application/json; charset=utf-8')
    const channels = JSON.parse(body)
    expect(channels.default_channels).toEqual([
      'events:tasks',
      'events:indicators',
      'events:system',
    ])
    expect(channels.channels).toHaveLength(CHANNEL_CATALOGUE.length)
    expect(channels.channels[0]).toEqual({
      name: 'events:tasks',
      kind: 'tasks',
      description: 'Progress and completion of every task',
      event_types: ['task.progress', 'task.completed'],
    })
  })

  it('GET /ws/stats and /metrics count connections, subscribers, messages and closes', async () => {
    const a = await TestClient.open(test.wsUrl('?channels=events:tasks,events:task:calc_h'))
    const b = await TestClient.open(test.wsUrl('?channels=events:tasks'))
    const event = taskProgress('calc_h', 10, 100)
    bus.publish('events:tasks', JSON.stringify(event))
    bus.publish('events:tasks', '{"broken"')
    await b.next((m) => m.event_type === 'task.progress')
    await a.next((m) => m.event_type === 'task.progress')
    const stats = JSON.parse((await get('/ws/stats')).body)
    expect(stats).toEqual({
      connections: 2,
      // This request's own connection, at least, is a TCP connection that is not a WebSocket.
      pending_connections: expect.any(Number),
      queued_subscribes: 0,
      held_events: 0,
      channels: { 'events:tasks': 2, 'events:task:calc_h': 1 },
      messages: { received: 2, sent: 2, dropped: 1 },
      received_by_family: expect.objectContaining({ tasks: 2, task: 0 }),
      sent_by_family: expect.objectContaining({ tasks: 2 }),
      dropped_by_reason: {
        invalid_event: 1,
        wrong_channel: 0,
        wrong_id: 0,
        too_large: 0,
        conflated: 0,
        slow_client: 0,
        invalid_history: 0,
        failed: 0,
      },
      slow_disconnects: 0,
      congested_connections: 0,
      closes_by_code: {},
      bridge: { kind: 'bus', state: 'ready' },
      resumes: { recovered: 0, unrecovered: 0, running: 0, waiting: 0 },
      history_events: { replayed: 0, snapshot: 0 },
      history_read_failures: 0,
      stale_tasks: 0,
      uptime_seconds: expect.any(Number),
    })
    expect(stats.pending_connections).toBeGreaterThanOrEqual(1)

    await b.close()
    await until(() => test.gateway.stats().connections === 1, 'b to be gone')
    const metrics = await get('/metrics')
    expect(metrics.type).toBe('text/plain; version=0.0.4; charset=utf-8')
    for (const line of [
      'stockpulse_gateway_connections 1',
      'stockpulse_gateway_subscriptions{family="tasks"} 1',
      'stockpulse_gateway_subscriptions{family="task"} 1',
      'stockpulse_gateway_messages_received_total{family="tasks"} 2',
      'stockpulse_gateway_messages_sent_total{family="tasks"} 2',
      'stockpulse_gateway_messages_dropped_total{reason="invalid_event"} 1',
      'stockpulse_gateway_closes_total{code="1005"} 1',
      'stockpulse_gateway_slow_disconnects_total 0',
      'stockpulse_gateway_bridge_ready 1',
      'stockpulse_gateway_delivery_lag_seconds_count 1',
    ]) {
      expect(metrics.body.split('\n')).toContain(line)
    }
    expect(metrics.body).toContain('stockpulse_gateway_process_resident_memory_bytes')
    await a.close()
  })

  it('GET /ws/history has no runs over the bus, and refuses a limit outside 1..100', async () => {
    expect(await get('/ws/history')).toMatchObject({ status: 200, body: '{"runs":[]}' })
    expect(await get('/ws/history?limit=100')).toMatchObject({ status: 200, body: '{"runs":[]}' })
    for (const limit of ['0', '101', '2.5', 'ten', '']) {
      expect(await get(`/ws/history?limit=${limit}`)).toMatchObject({
        status: 400,
        type: 'application/json; charset=utf-8',
        body: '{"error":"limit must be an integer from 1 to 100"}',
      })
    }
  })

  it('answers other methods with 405, a plain GET of /ws/events with 426', async () => {
    expect((await get('/ws/stats', { method: 'POST' })).status).toBe(405)
    expect(await get('/ws/events')).toMatchObject({
      status: 426,
      body: '{"error":"connect with a WebSocket"}',
    })
  })

  it.each([
    ['/', 200, 'text/html; charset=utf-8', '<!doctype html><title>StockPulse</title>'],
    ['/assets/index-4f2a.js', 200, 'text/javascript; charset=utf-8', 'console.log(1)'],
    ['/assets/index-4f2a.css', 200, 'text/css; charset=utf-8', 'body{}'],
    ['/favicon.svg', 200, 'image/svg+xml', '<svg/>'],
    ['/docs', 200, 'text/html; charset=utf-8', '<p>docs</p>'],
    ['/tasks/calc_1', 200, 'text/html; charset=utf-8', '<!doctype html><title>StockPulse</title>'],
    ['/assets/missing.js', 404, 'text/plain; charset=utf-8', 'not found'],
    ['/%E0%A4%A', 400, 'text/plain; charset=utf-8', 'bad path'],
  ])('serves STATIC_DIR: GET %s -> %i %s', async (path, status, type, body) => {
    expect(await get(path)).toMatchObject({ status, type, body })
  })

  it('takes run requests as JSON only (415 otherwise: no cross-site form posts), up to 4 KiB', async () => {
    const post = (path: string, init: RequestInit) => get(path, { method: 'POST', ...init })
    // What a web page may send to another origin without a preflight: a form, or text/plain.
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']) {
      expect(
        await post('/api/runs', { headers: { 'content-type': type }, body: '{"stocks":10}' }),
      ).toMatchObject({
        status: 415,
        body: '{"error":"unsupported_media_type","reason":"the body must be sent as content-type: application/json"}',
      })
    }
    expect(await post('/api/runs/calc_1/cancel', {})).toMatchObject({ status: 415 })
    const asJson = { 'content-type': 'application/json; charset=utf-8' }
    expect(await post('/api/runs', { headers: asJson, body: 'x'.repeat(5_000) })).toMatchObject({
      status: 400,
      body: '{"error":"invalid_request","reason":"the body is larger than 4096 bytes"}',
    })
    expect(await post('/api/runs', { headers: asJson, body: '{"stocks":10}' })).toMatchObject({
      status: 503,
      body: '{"error":"unavailable","reason":"runs need Redis: this gateway runs without it"}',
    })
  })

  it('answers a chunked body growing past 4 KiB with 400, not a reset connection', async () => {
    const response = await new Promise<string>((resolve, reject) => {
      const socket = connect(test.port, '127.0.0.1', () => {
        socket.write(
          'POST /api/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
        )
        // 64 chunks of 1,000 bytes, and no end: the gateway answers without waiting for it.
        for (let i = 0; i < 64; i++) socket.write(`3e8\r\n${'x'.repeat(1_000)}\r\n`)
      })
      let text = ''
      socket.on('data', (data) => {
        text += data.toString()
      })
      socket.on('close', () => resolve(text))
      socket.on('error', reject)
    })
    expect(response).toMatch(/^HTTP\/1\.1 400 /)
    expect(response).toContain('connection: close')
    expect(response).toContain('"reason":"the body is larger than 4096 bytes"')
  })

  it('caches hashed assets for good and revalidates the page', async () => {
    expect((await get('/assets/index-4f2a.js')).res.headers.get('cache-control')).toBe(
      'public, max-age=31536000, immutable',
    )
    expect((await get('/')).res.headers.get('cache-control')).toBe('no-cache')
  })

  it.each([
    '/../gateway-secret.txt',
    '/%2e%2e/gateway-secret.txt',
    '/assets/..%2f..%2fgateway-secret.txt',
    '/linked.txt',
    '/assets/up/gateway-secret.txt',
    '/.env',
    '/%2eenv',
    '/.git/config',
    '/assets/.%2e/.env',
  ])('never serves files outside STATIC_DIR, or dotfiles: %s', async (path) => {
    const response = await rawGet(path)
    expect(response).toMatch(/^HTTP\/1\.1 404 /)
    expect(response).not.toContain('TOP-SECRET')
  })

  it('follows a symlink that stays inside STATIC_DIR', async () => {
    expect(await get('/icon.svg')).toMatchObject({ status: 200, body: '<svg/>' })
  })

  it.each([
    ['/', 200],
    ['/tasks/calc_1', 200],
    ['/assets/index-4f2a.js', 200],
    ['/assets/missing.js', 404],
  ])('sends the security headers with GET %s (%i)', async (path, status) => {
    const { res } = await get(path)
    expect(res.status).toBe(status)
    expect(Object.fromEntries(res.headers)).toMatchObject({
      'content-security-policy': `default-src 'self'; script-src 'self' 'unsafe-eval'; connect-src 'self' ws://127.0.0.1:${test.port} wss://127.0.0.1:${test.port}; img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'`,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
    })
  })

  it('leaves a Host header that is not a host out of the CSP', async () => {
    const response = await rawGet('/', 'evil; script-src *')
    expect(response).toMatch(/^HTTP\/1\.1 200 /)
    expect(response).toContain(
      "content-security-policy: default-src 'self'; script-src 'self' 'unsafe-eval'; connect-src 'self';",
    )
  })
})
