import { describe, expect, it } from 'vitest'
import { parseMetrics, sampleValue } from './test-support/metrics.js'
import { countEvents, createWorkerMetrics, RUN_STATUSES } from './worker-metrics.js'

const P = 'stockpulse_worker_'

describe('worker-metrics', () => {
  const setup = (start = '2026-01-09T08:30:00Z') => {
    let clock = new Date(start)
    const metrics = createWorkerMetrics({
      indicators: ['SMA_5', 'ATR'],
      now: () => clock,
    })
    return {
      metrics,
      advance(seconds: number) {
        clock = new Date(clock.getTime() + seconds * 1000)
      },
      scrape: async () => parseMetrics(await metrics.registry.metrics()),
    }
  }

  it('shows every family from the start, each status and configured indicator at 0', async () => {
    const { scrape } = setup()
    const samples = await scrape()
    for (const status of RUN_STATUSES) {
      expect(sampleValue(samples, `${P}runs_finished_total`, { status })).toBe(0)
      expect(sampleValue(samples, `${P}run_duration_seconds_count`, { status })).toBe(0)
    }
    for (const indicator of ['SMA_5', 'ATR', 'other']) {
      expect(sampleValue(samples, `${P}indicator_failures_total`, { indicator })).toBe(0)
    }
    for (const name of [
      'runs_started_total',
      'stocks_processed_total',
      'stocks_failed_total',
      'events_published_total',
      'events_dropped_total',
      'chunk_retries_total',
      'chunk_stalls_total',
      'invalid_jobs_total',
      'compute_seconds_total',
      'compute_threads',
      'last_success_timestamp_seconds',
      'last_run_duration_seconds',
      'current_run_start_timestamp_seconds',
      'current_run_stocks',
      'current_run_stocks_processed',
      'last_scheduled_run_timestamp_seconds',
      'next_scheduled_run_timestamp_seconds',
    ]) {
      expect(sampleValue(samples, `${P}${name}`), name).toBe(0)
    }
    expect(sampleValue(samples, `${P}process_resident_memory_bytes`)).toBeGreaterThan(0)
  })

  it('follows a run from start to completion', async () => {
    const { metrics, advance, scrape } = setup()
    metrics.runStarted()
    metrics.computeThreads(2)
    metrics.runProgress(40, 100)
    metrics.stocks(40, 3)
    metrics.computeSeconds(1.5)
    let samples = await scrape()
    expect(sampleValue(samples, `${P}runs_started_total`)).toBe(1)
    expect(sampleValue(samples, `${P}current_run_start_timestamp_seconds`)).toBe(
      Date.parse('2026-01-09T08:30:00Z') / 1000,
    )
    expect(sampleValue(samples, `${P}current_run_stocks`)).toBe(100)
    expect(sampleValue(samples, `${P}current_run_stocks_processed`)).toBe(40)
    expect(sampleValue(samples, `${P}stocks_processed_total`)).toBe(40)
    expect(sampleValue(samples, `${P}stocks_failed_total`)).toBe(3)
    expect(sampleValue(samples, `${P}compute_seconds_total`)).toBe(1.5)
    expect(sampleValue(samples, `${P}compute_threads`)).toBe(2)

    advance(42)
    metrics.runFinished('completed', 42)
    samples = await scrape()
    expect(sampleValue(samples, `${P}runs_finished_total`, { status: 'completed' })).toBe(1)
    expect(sampleValue(samples, `${P}runs_finished_total`, { status: 'failed' })).toBe(0)
    expect(sampleValue(samples, `${P}run_duration_seconds_sum`, { status: 'completed' })).toBe(42)
    expect(
      sampleValue(samples, `${P}run_duration_seconds_bucket`, { status: 'completed', le: '30' }),
    ).toBe(0)
    expect(
      sampleValue(samples, `${P}run_duration_seconds_bucket`, { status: 'completed', le: '60' }),
    ).toBe(1)
    expect(sampleValue(samples, `${P}last_run_duration_seconds`)).toBe(42)
    expect(sampleValue(samples, `${P}last_success_timestamp_seconds`)).toBe(
      Date.parse('2026-01-09T08:30:42Z') / 1000,
    )
    for (const idle of ['current_run_start_timestamp_seconds', 'current_run_stocks']) {
      expect(sampleValue(samples, `${P}${idle}`)).toBe(0)
    }
  })

  it('keeps the last success when a later run fails', async () => {
    const { metrics, advance, scrape } = setup()
    metrics.runStarted()
    metrics.runFinished('completed', 10)
    advance(3600)
    metrics.runStarted()
    metrics.runFinished('failed', 2)
    const samples = await scrape()
    expect(sampleValue(samples, `${P}last_success_timestamp_seconds`)).toBe(
      Date.parse('2026-01-09T08:30:00Z') / 1000,
    )
    expect(sampleValue(samples, `${P}last_run_duration_seconds`)).toBe(2)
    expect(sampleValue(samples, `${P}runs_finished_total`, { status: 'failed' })).toBe(1)
  })

  it('labels indicator failures with configured ids only, anything else as other', async () => {
    const { metrics, scrape } = setup()
    for (const id of ['ATR', 'ATR', 'SMA_99', 'constructor', '__proto__']) {
      metrics.indicatorFailed(id)
    }
    const samples = await scrape()
    expect(
      samples
        .filter((sample) => sample.name === `${P}indicator_failures_total`)
        .map((sample) => [sample.labels.indicator, sample.value]),
    ).toEqual([
      ['SMA_5', 0],
      ['ATR', 2],
      ['other', 3],
    ])
  })

  it('counts events, chunk retries and stalls, and shows the schedule', async () => {
    const { metrics, scrape } = setup()
    const onEvent = countEvents(metrics)
    onEvent('published')
    onEvent('published')
    onEvent('dropped')
    metrics.chunkRetried()
    metrics.chunkStalled()
    metrics.chunkStalled()
    metrics.schedule(new Date('2026-01-08T08:30:00Z'), new Date('2026-01-09T08:30:00Z'))
    let samples = await scrape()
    expect(sampleValue(samples, `${P}events_published_total`)).toBe(2)
    expect(sampleValue(samples, `${P}events_dropped_total`)).toBe(1)
    expect(sampleValue(samples, `${P}chunk_retries_total`)).toBe(1)
    expect(sampleValue(samples, `${P}chunk_stalls_total`)).toBe(2)
    expect(sampleValue(samples, `${P}last_scheduled_run_timestamp_seconds`)).toBe(1_767_861_000)
    expect(sampleValue(samples, `${P}next_scheduled_run_timestamp_seconds`)).toBe(1_767_947_400)
    metrics.schedule(undefined, undefined)
    samples = await scrape()
    expect(sampleValue(samples, `${P}next_scheduled_run_timestamp_seconds`)).toBe(0)
  })

  it('keeps a registry per instance', async () => {
    const a = setup()
    const b = setup()
    a.metrics.runStarted()
    expect(sampleValue(await a.scrape(), `${P}runs_started_total`)).toBe(1)
    expect(sampleValue(await b.scrape(), `${P}runs_started_total`)).toBe(0)
  })
})
