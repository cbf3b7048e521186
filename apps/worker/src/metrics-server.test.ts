import { once } from 'node:events'
import { createServer } from 'node:net'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { createMetricsServer, type HealthReport, type MetricsServer } from './metrics-server.js'
import { createWorkerMetrics } from './worker-metrics.js'

describe('metrics-server', () => {
  const logger = pino({ level: 'silent' })
  let server: MetricsServer | undefined
  afterEach(async () => {
    await server?.close()
    server = undefined
  })

  const start = async (
    health: () => HealthReport = () => ({ ok: true, body: { status: 'ok' } }),
  ) => {
    const metrics = createWorkerMetrics({ indicators: ['RSI'] })
    server = createMetricsServer({ registry: metrics.registry, health, logger })
    const { port, address } = await server.listen(0, '127.0.0.1')
    expect(address).toBe('127.0.0.1')
    return { metrics, url: (path: string) => `http://127.0.0.1:${port}${path}` }
  }

  it('serves the registry as Prometheus text on /metrics', async () => {
    const { metrics, url } = await start()
    metrics.runStarted()
    const res = await fetch(url('/metrics'))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    const text = await res.text()
    expect(text).toContain('# TYPE stockpulse_worker_runs_started_total counter')
    expect(text).toContain('\nstockpulse_worker_runs_started_total 1\n')
  })

  it.each([
    [{ ok: true, body: { status: 'ok', active_task_id: null } }, 200],
    [{ ok: true, body: { status: 'degraded', active_task_id: 't1' } }, 200],
    [{ ok: false, body: { status: 'stopping', active_task_id: null } }, 503],
  ])('answers /healthz from the health report %j with %i', async (report, status) => {
    const { url } = await start(() => report)
    const res = await fetch(url('/healthz'))
    expect(res.status).toBe(status)
    expect(await res.json()).toEqual(report.body)
  })

  it.each([
    ['GET', '/', 404, { error: 'not found' }],
    ['GET', '/metrics/../secret', 404, { error: 'not found' }],
    ['POST', '/metrics', 405, { error: 'method not allowed' }],
  ])('%s %s -> %i', async (method, path, status, body) => {
    const { url } = await start()
    const res = await fetch(url(path), { method })
    expect(res.status).toBe(status)
    expect(await res.json()).toEqual(body)
  })

  it('rejects listen when the port is taken, and close ends kept-alive connections', async () => {
    const blocker = createServer().listen(0, '127.0.0.1')
    await once(blocker, 'listening')
    const taken = (blocker.address() as { port: number }).port
    const metrics = createWorkerMetrics({ indicators: [] })
    const refused = createMetricsServer({
      registry: metrics.registry,
      health: () => ({ ok: true, body: {} }),
      logger,
    })
    await expect(refused.listen(taken, '127.0.0.1')).rejects.toMatchObject({ code: 'EADDRINUSE' })
    blocker.close()

    const { url } = await start()
    const res = await fetch(url('/metrics'), { headers: { connection: 'keep-alive' } })
    await res.text()
    await server!.close()
    server = undefined
    await expect(fetch(url('/healthz'))).rejects.toThrow()
  })
})
