import {
  createStockIndicatorsCompletedEvent,
  createTaskCompletedEvent,
  historyKeys,
  taskChannel,
} from '@stockpulse/events'
import { runKeys } from '@stockpulse/runs'
import { describe, expect, it } from 'vitest'
import {
  createRunPublisher,
  progressHead,
  RUN_RUNNING_SCRIPT,
  type RunPublisher,
} from './run-scripts.js'
import { uniqueId } from './test-support/events.js'
import { useSharedRedis } from './test-support/redis.js'

describe('run-scripts', () => {
  const prefix = `${uniqueId('runscripts')}:`
  const keys = runKeys(prefix)
  const shared = useSharedRedis(prefix)
  const publisherOf = (): RunPublisher =>
    createRunPublisher(shared(), {
      history: historyKeys(prefix),
      runs: keys,
      maxlen: 1_000,
      runHistory: 30,
      retentionSeconds: 86_400,
      maxFailures: 100,
    })
  // A run as the start job leaves it: running, `total` stocks, nothing processed.
  const running = async (total: number) => {
    const taskId = uniqueId('run')
    await shared().hSet(keys.state(taskId), {
      state: 'running',
      total,
      processed: 0,
      failed: 0,
      last: 0,
    })
    return taskId
  }
  const stock = (publisher: RunPublisher, taskId: string, code: string) => {
    const event = createStockIndicatorsCompletedEvent({
      task_id: taskId,
      stock_code: code,
      indicators: [],
      success_count: 1,
      failed_count: 0,
      calculation_time_ms: 1,
      from_cache_count: 0,
    })
    return publisher.stock({
      taskId,
      event,
      progressHead: progressHead(taskId, event.timestamp),
      failures: [],
    })
  }
  const completed = (taskId: string) =>
    createTaskCompletedEvent({
      task_id: taskId,
      task_type: 'batch_daily',
      status: 'completed',
      duration_seconds: 1,
      result: { success: 1, failed: 0 },
    })

  it('publishes no stock of a run that is done (closed as failed, or by a forged finish)', async () => {
    const publisher = publisherOf()
    const taskId = await running(3)
    expect(await stock(publisher, taskId, 'S1')).toEqual({
      outcome: 'progress',
      processed: 1,
      total: 3,
    })
    expect(await publisher.complete(completed(taskId))).toBe(true)
    expect(await stock(publisher, taskId, 'S2')).toEqual({ outcome: 'cancelled' })
    expect(await shared().hGet(keys.state(taskId), 'processed')).toBe('1')
    expect(await shared().sMembers(keys.done(taskId))).toEqual(['S1'])
    publisher.close()
  })

  it('moves a run to running only from starting: a run done meanwhile stays done', async () => {
    const redis = shared()
    const taskId = uniqueId('cas')
    const running = () => redis.eval(RUN_RUNNING_SCRIPT, { keys: [keys.state(taskId)] })
    await redis.hSet(keys.state(taskId), 'state', 'starting')
    expect(await running()).toBe(1)
    expect(await redis.hGet(keys.state(taskId), 'state')).toBe('running')
    await redis.hSet(keys.state(taskId), 'state', 'done')
    expect(await running()).toBe(0)
    expect(await redis.hGet(keys.state(taskId), 'state')).toBe('done')
  })

  it('publishes each stock once: a second try of a stock is a duplicate, a cancelled run none', async () => {
    const publisher = publisherOf()
    const taskId = await running(5)
    expect(await stock(publisher, taskId, 'S1')).toMatchObject({ outcome: 'progress' })
    expect(await stock(publisher, taskId, 'S1')).toEqual({ outcome: 'duplicate' })
    expect(await shared().hGet(keys.state(taskId), 'processed')).toBe('1')
    await shared().set(keys.cancel(taskId), 'cancelled by request')
    expect(await stock(publisher, taskId, 'S2')).toEqual({ outcome: 'cancelled' })
    expect(await shared().sMembers(keys.done(taskId))).toEqual(['S1'])
    publisher.close()
  })

  it('throttles progress over the whole run: every 1 % (3 of 201), every 50th, and the last', async () => {
    const publisher = publisherOf()
    const taskId = await running(201)
    const progressAt: number[] = []
    for (let i = 1; i <= 201; i++) {
      const verdict = await stock(publisher, taskId, `S${i}`)
      expect(verdict).toMatchObject({ processed: i, total: 201 })
      if (verdict.outcome === 'progress') progressAt.push(i)
    }
    const everyThird = (from: number) => Array.from({ length: 16 }, (_, k) => from + 3 * k)
    expect(progressAt).toEqual([
      ...everyThird(3),
      50,
      ...everyThird(53),
      100,
      ...everyThird(103),
      150,
      ...everyThird(153),
      200,
      201,
    ])
    publisher.close()
  })

  it('publishes the task.completed of a run once: a second call publishes nothing', async () => {
    const publisher = publisherOf()
    const taskId = await running(1)
    await shared().set(keys.active, taskId)
    const stream = historyKeys(prefix).stream(taskChannel(taskId))
    expect(await publisher.complete(completed(taskId))).toBe(true)
    expect(await shared().get(keys.active)).toBeNull()
    expect(await shared().xLen(stream)).toBe(1)
    expect(await publisher.complete(completed(taskId))).toBe(false)
    expect(await shared().xLen(stream)).toBe(1)
    expect(await shared().hGet(keys.state(taskId), 'state')).toBe('done')
    publisher.close()
  })
})
