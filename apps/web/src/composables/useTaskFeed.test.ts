import {
  createStockIndicatorsCompletedEvent,
  type StockIndicatorsCompletedEvent,
} from '@stockpulse/events'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type EffectScope, effectScope, ref } from 'vue'
import { eventually, startTestServer, type TestServer } from '../testing/ws-server'
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
  it('counts stocks per second, with empty seconds as zero', () => {
    const rows = [stock('a', 1, 0), stock('b', 1, 0), stock('c', 1, 3)]
    expect(chartsOf(rows, 4).throughput).toEqual([
      [t0 / 1000, t0 / 1000 + 1, t0 / 1000 + 2, t0 / 1000 + 3],
      [2, 0, 0, 1],
    ])
  })

  it('bins calc times with a 1-2-5 width, the maximum in the last bin', () => {
    const rows = [0.5, 3, 9, 10, 39.9].map((ms, i) => stock(`s${i}`, ms))
    expect(chartsOf(rows, 4).calcTime).toEqual([
      [0, 10, 20, 30],
      [3, 1, 0, 1],
    ])
  })

  it('is empty without rows', () => {
    expect(chartsOf([], 4)).toEqual({ throughput: [[], []], calcTime: [[], []] })
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
    expect(gateway.url.searchParams.get('channels')).toBe('events:task:t1')
    await eventually(() =>
      expect(feed.rows.value.map((row) => row.stock_code)).toEqual(['000001', '000002', '600002']),
    )
    expect(feed.rows.value[0]?.calculation_time_ms).toBe(2)
    feed.filter.value = 'failed'
    expect(feed.visible.value.map((row) => row.stock_code)).toEqual(['000002'])
    feed.filter.value = 'all'
    feed.search.value = ' 0002 '
    expect(feed.visible.value.map((row) => row.stock_code)).toEqual(['000002', '600002'])
    expect(feed.failures.value).toEqual([{ stock_code: '000002', reason: 'no bars' }])
  })

  it('starts over, on the new channel, when the task id changes', async () => {
    const gateway = await send([stock('000001', 1)])
    await eventually(() => expect(feed.rows.value).toHaveLength(1))
    taskId.value = 't2'
    await eventually(() =>
      expect(gateway.received).toEqual([
        { type: 'unsubscribe', channels: ['events:task:t1'] },
        { type: 'subscribe', channels: ['events:task:t2'] },
      ]),
    )
    expect(feed.rows.value).toEqual([])
    taskId.value = 't1'
  })
})
