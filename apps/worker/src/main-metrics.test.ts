import { fileURLToPath } from 'node:url'
import { createRunQueue } from '@stockpulse/runs'
import {
  type NodeProcess,
  type RedisServer,
  startNode,
  startRedisServer,
  until,
} from '@stockpulse/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseMetrics, type Sample, sampleValue } from './test-support/metrics.js'

const bin = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const P = 'stockpulse_worker_'

// `serve` with METRICS_PORT: a submitted run shows in /metrics, /healthz follows Redis and the
// stop. A private redis-server: the default key prefix's queue on the shared one would reach
// others' workers.
describe('main: metrics', () => {
  let redis: RedisServer
  let worker: NodeProcess | undefined
  beforeAll(async () => {
    redis = await startRedisServer()
  })
  afterAll(async () => {
    await worker?.stop()
    await redis.stop()
  })

  it('serves /metrics and /healthz on METRICS_PORT while serving, and counts a run', async () => {
    worker = startNode(bin, ['serve', '--concurrency', '2', '--schedule', '30 16 * * 1-5'], {
      env: {
        ...process.env,
        REDIS_URL: redis.url,
        METRICS_PORT: '0',
        METRICS_HOST: '127.0.0.1',
        WORKER_CACHE_TTL_S: '0',
        WORKER_TIME_ZONE: 'Asia/Shanghai',
      },
    })
    await worker.waitFor('"msg":"worker serving"', 'the worker to serve')
    const url = (path: string) => `http://127.0.0.1:${metricsPort(worker!.stderr)}${path}`
    const scrape = async () => parseMetrics(await (await fetch(url('/metrics'))).text())

    let idle: Sample[] = []
    await until(
      async () => {
        idle = await scrape()
        return (sampleValue(idle, `${P}next_scheduled_run_timestamp_seconds`) ?? 0) > 0
      },
      'the schedule in /metrics',
      10_000,
    )
    const now = Date.now() / 1000
    expect(sampleValue(idle, `${P}last_scheduled_run_timestamp_seconds`)).toBeLessThanOrEqual(now)
    expect(sampleValue(idle, `${P}last_scheduled_run_timestamp_seconds`)).toBeGreaterThan(
      now - 4 * 86_400,
    )
    expect(sampleValue(idle, `${P}next_scheduled_run_timestamp_seconds`)).toBeGreaterThan(now)
    expect(sampleValue(idle, `${P}next_scheduled_run_timestamp_seconds`)).toBeLessThan(
      now + 4 * 86_400,
    )
    expect(sampleValue(idle, `${P}events_published_total`)).toBeGreaterThanOrEqual(1) // a heartbeat
    expect(await (await fetch(url('/healthz'))).json()).toEqual({
      status: 'ok',
      active_task_id: null,
    })

    const queue = createRunQueue({ url: redis.url, prefix: 'stockpulse:' })
    expect(await queue.submit({ task_id: 'metrics-run', stocks: 700 })).toMatchObject({
      status: 202,
    })
    await queue.close()
    let samples: Sample[] = []
    await until(
      async () => {
        samples = await scrape()
        return sampleValue(samples, `${P}runs_finished_total`, { status: 'completed' }) === 1
      },
      'a completed run in /metrics',
      30_000,
    )
    // The synthetic source fails stock 100 as a whole (short history) and ATR and KDJ of stock
    // 600 (a NaN high).
    expect(sampleValue(samples, `${P}runs_started_total`)).toBe(1)
    expect(sampleValue(samples, `${P}stocks_processed_total`)).toBe(700)
    expect(sampleValue(samples, `${P}stocks_failed_total`)).toBe(2)
    expect(sampleValue(samples, `${P}indicator_failures_total`, { indicator: 'ATR' })).toBe(1)
    expect(sampleValue(samples, `${P}indicator_failures_total`, { indicator: 'KDJ' })).toBe(1)
    expect(sampleValue(samples, `${P}indicator_failures_total`, { indicator: 'RSI' })).toBe(0)
    expect(sampleValue(samples, `${P}compute_threads`)).toBe(2)
    expect(sampleValue(samples, `${P}compute_seconds_total`)).toBeGreaterThan(0)
    expect(sampleValue(samples, `${P}events_published_total`)).toBeGreaterThan(1 + 700 * 2 + 1)
    expect(sampleValue(samples, `${P}events_dropped_total`)).toBe(0)
    expect(sampleValue(samples, `${P}last_success_timestamp_seconds`)).toBeGreaterThan(now)
    expect(sampleValue(samples, `${P}last_run_duration_seconds`)).toBeGreaterThan(0)
    expect(sampleValue(samples, `${P}run_duration_seconds_count`, { status: 'completed' })).toBe(1)
    expect(sampleValue(samples, `${P}current_run_start_timestamp_seconds`)).toBe(0)

    await redis.kill()
    await until(
      async () =>
        ((await (await fetch(url('/healthz'))).json()) as { status: string }).status === 'degraded',
      '/healthz to say degraded with Redis gone',
      10_000,
    )
    expect((await fetch(url('/healthz'))).status).toBe(200)
    await redis.start()

    worker.kill('SIGTERM')
    await worker.expectExit(0)
    await expect(fetch(url('/healthz'))).rejects.toThrow()
  })

  it('exits 1 when METRICS_PORT is taken', async () => {
    const first = startNode(bin, ['serve'], {
      env: { ...process.env, REDIS_URL: redis.url, METRICS_PORT: '0', METRICS_HOST: '127.0.0.1' },
    })
    await first.waitFor('"msg":"metrics listening"', 'the first worker to listen')
    const taken = metricsPort(first.stderr)
    const second = startNode(bin, ['serve'], {
      env: {
        ...process.env,
        REDIS_URL: redis.url,
        METRICS_PORT: String(taken),
        METRICS_HOST: '127.0.0.1',
      },
    })
    await second.expectExit(1)
    expect(second.stderr).toContain('"msg":"metrics port could not be opened"')
    first.kill('SIGTERM')
    await first.expectExit(0)
  })
})

// The port from the worker's `metrics listening` log line.
function metricsPort(stderr: string): number {
  const line = stderr.split('\n').find((text) => text.includes('"msg":"metrics listening"'))
  if (!line) throw new Error(`no "metrics listening" line in:\n${stderr}`)
  return (JSON.parse(line) as { port: number }).port
}
