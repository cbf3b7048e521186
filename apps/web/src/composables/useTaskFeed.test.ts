import {
  createStockIndicatorsCompletedEvent,
  createTaskProgressEvent,
  type StockIndicatorsCompletedEvent,
} from '@stockpulse/events'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type EffectScope, effectScope, ref } from 'vue'
import { eventually, startTestServer, type TestServer } from '../test-support/ws-server'
import { useEventStream } from './useEventStream'
import { chartsOf, type UseTaskFeedReturn, useTaskFeed } from './useTaskFeed'

const t0 = Date.parse('2026-01-10T09:00:00.000Z')

function stock(code: string, ms: number, second = 0, failed = 0, taskId = 't1') {
  return createStockIndicatorsCompletedEvent(
    {
      task_id: taskId,
      stock_code: code,
      indicators: [],
      success_count: 2 - failed,
      failed_count: failed,
      calculation_time_ms: ms,
      from_cache_count: 0,
      errors: failed ? [{ reason: 'no bars' }] : undefined,
    },
    new Date(t0 + second * 1000),
  )
}

describe('chartsOf', () => {
  it('counts stocks per second since the first in 1 s buckets over 50 s, without the unfinished last', () => {
    const rows = [0, 0.5, 0.99, 3.2, 4.1, 50].map((second, i) => stock(`s${i}`, 1, second))
    const { throughput, bucketSeconds } = chartsOf(rows)
    expect(bucketSeconds).toBe(1)
    expect(throughput[0]).toEqual(Array.from({ length: 50 }, (_, second) => second))
    expect(throughput[1].slice(0, 5)).toEqual([3, 0, 0, 1, 1])
    expect(throughput[1].slice(5).every((rate) => rate === 0)).toBe(true)
  })

  it('draws a job of a few seconds in 0.1 s buckets, as stocks per second', () => {
    const rows = [0, 0.02, 0.15, 0.3, 2.95, 3].map((second, i) => stock(`s${i}`, 1, second))
    const { throughput, bucketSeconds } = chartsOf(rows)
    expect(bucketSeconds).toBe(0.1)
    expect(throughput[0]).toHaveLength(30)
    expect(throughput[0].slice(0, 4)).toEqual([0, 0.1, 0.2, 0.3])
    expect(throughput[1].slice(0, 4)).toEqual([20, 10, 0, 10])
    expect(throughput[1][29]).toBe(10)
  })

  it('widens the buckets of a long job to at most 60 points', () => {
    const rows = [0, 1, 2, 3_599].map((second, i) => stock(`s${i}`, 1, second))
    const { throughput, bucketSeconds } = chartsOf(rows)
    expect(bucketSeconds).toBe(60)
    expect(throughput[0]).toHaveLength(59)
    expect(throughput[1][0]).toBe(3 / 60)
  })

  it('keeps a job shorter than a bucket as one bar', () => {
    const rows = [0, 0.02, 0.04].map((second, i) => stock(`s${i}`, 1, second))
    expect(chartsOf(rows).throughput).toEqual([[0], [30]])
  })

  it('bins calc times on 1-1.5-2-3-5-7 log steps from the fastest to the slowest', () => {
    const { calcTime, calcTimeEdges } = chartsOf(
      [0.12, 0.3, 0.45, 2.5, 40].map((ms, i) => stock(`s${i}`, ms)),
    )
    expect(calcTimeEdges).toEqual([
      0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 7, 10, 15, 20, 30, 50,
    ])
    expect(calcTime[1]).toEqual([1, 0, 0, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    expect(calcTime[0]).toEqual(calcTime[1].map((_, bin) => bin))
  })

  it('puts calc times of zero (all from the cache) in one bin', () => {
    expect(chartsOf([stock('a', 0), stock('b', 0)])).toMatchObject({
      calcTime: [[0], [2]],
      calcTimeEdges: [0.01, 0.015],
    })
  })

  it('is empty without rows', () => {
    expect(chartsOf([])).toEqual({
      throughput: [[], []],
      bucketSeconds: 1,
      calcTime: [[], []],
      calcTimeEdges: [],
    })
  })
})

describe('useTaskFeed', () => {
  let server: TestServer
  let scope: EffectScope
  let feed: UseTaskFeedReturn
  const taskId = ref('t1')

  beforeEach(async () => {
    server = await startTestServer()
    scope = effectScope()
    feed = scope.run(() => {
      const stream = useEventStream({ url: server.url, immediate: false })
      const taskFeed = useTaskFeed(stream, taskId)
      stream.open()
      return taskFeed
    })!
  })

  afterEach(async () => {
    scope.stop()
    await server.close()
  })

  async function send(events: StockIndicatorsCompletedEvent[]) {
    const gateway = await server.connection(1)
    gateway.send({ type: 'batch', events })
    return gateway
  }

  it('keeps one row per stock of its task, filtered and searched', async () => {
    const gateway = await send([
      stock('000001', 1),
      stock('000002', 1, 0, 1),
      stock('300001', 1, 0, 0, 'other'),
      stock('600002', 1),
      stock('000001', 2),
    ])
    expect(gateway.url.searchParams.get('channels')).toBe('')
    await eventually(() =>
      expect(feed.rows.value.map((row) => row.stock_code)).toEqual(['000001', '000002', '600002']),
    )
    await eventually(() =>
      expect(gateway.received).toEqual([
        { type: 'subscribe', channels: ['events:task:t1'], since: { 'events:task:t1': 'start' } },
      ]),
    )
    expect(feed.rows.value[0]?.calculation_time_ms).toBe(2)
    feed.filter.value = 'failed'
    expect(feed.visible.value.map((row) => row.stock_code)).toEqual(['000002'])
    feed.filter.value = 'all'
    feed.search.value = ' 0002 '
    expect(feed.visible.value.map((row) => row.stock_code)).toEqual(['000002', '600002'])
    expect(feed.failures.value).toEqual([{ stock_code: '000002', reason: 'no bars' }])
    expect(feed.summary.value).toEqual({ stocks: 3, meanCalcMs: 4 / 3, cacheHits: 0 })
  })

  it('drops a stock from the failures when it is computed again without one', async () => {
    await send([stock('000002', 1, 0, 1), stock('000003', 1, 0, 1)])
    await eventually(() => expect(feed.failedRows.value).toHaveLength(2))
    ;(await server.connection(1)).send(stock('000002', 1))
    await eventually(() =>
      expect(feed.failedRows.value.map((row) => row.stock_code)).toEqual(['000003']),
    )
    expect(feed.rows.value).toHaveLength(2)
  })

  it('starts over, on the new channel, when the task id changes', async () => {
    const gateway = await send([stock('000001', 1)])
    await eventually(() => expect(feed.rows.value).toHaveLength(1))
    taskId.value = 't2'
    await eventually(() =>
      expect(gateway.received).toEqual([
        { type: 'subscribe', channels: ['events:task:t1'], since: { 'events:task:t1': 'start' } },
        { type: 'unsubscribe', channels: ['events:task:t1'] },
        { type: 'subscribe', channels: ['events:task:t2'], since: { 'events:task:t2': 'start' } },
      ]),
    )
    expect(feed.rows.value).toEqual([])
    taskId.value = 't1'
  })

  it('folds its task from its own channel, and says whether it holds the whole task', async () => {
    const gateway = await server.connection(1)
    expect(feed.coverage.value).toBe('loading')
    await eventually(() => expect(gateway.received).toHaveLength(1))
    gateway.send({
      type: 'subscribed',
      results: [{ channel: 'events:task:t1', ok: true, recovered: false }],
    })
    await eventually(() => expect(feed.coverage.value).toBe('partial'))
    const progress = (processed: number) =>
      createTaskProgressEvent({
        task_id: 't1',
        task_type: 'batch_daily',
        status: 'running',
        progress: processed / 10,
        message: 'Processing',
        processed,
        total: 1000,
        failed: 0,
        started_at: '2026-01-10T09:00:00.000Z',
      })
    gateway.send(progress(0))
    gateway.send(progress(50))
    await eventually(() => expect(feed.task.value?.processed).toBe(50))
    expect(feed.task.value?.startedAt).toBe(t0)
    expect(feed.coverage.value).toBe('whole')
  })
})
