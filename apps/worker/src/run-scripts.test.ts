import {
  createStockIndicatorsCompletedEvent,
  createTaskCompletedEvent,
  historyKeys,
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
})
