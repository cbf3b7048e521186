import { historyKeys, TASKS_ALL, type TaskCompletedEvent, taskChannel } from '@stockpulse/events'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { createHistorySink } from './history-sink.js'
import { createPublisher } from './publisher.js'
import { closeStaleTasks } from './stale-tasks.js'
import { recordEvents, runningTask, uniqueId } from './test-support/events.js'
import { useSharedRedis } from './test-support/redis.js'

const logger = pino({ level: 'silent' })

describe('stale-tasks', () => {
  const prefix = `${uniqueId('stale')}:`
  const keys = historyKeys(prefix)
  const shared = useSharedRedis(prefix)

  it('closes the running tasks silent for too long as failed, with their last counts, and only those', async () => {
    const redis = shared()
    const [lost, early, fresh] = ['lost', 'early', 'fresh'].map(uniqueId)
    const started = new Date('2026-01-09T08:00:00.000Z')
    const last = new Date('2026-01-09T08:01:30.000Z')
    await redis.xAdd(keys.stream(taskChannel(lost!)), '*', {
      e: JSON.stringify(runningTask(lost!, 0, { at: started })),
    })
    await redis.hSet(keys.tasks, {
      [lost!]: JSON.stringify(runningTask(lost!, 40, { failed: 2, at: last })),
      [early!]: JSON.stringify(runningTask(early!, 5, { at: started })),
      [fresh!]: JSON.stringify(runningTask(fresh!, 70, { at: new Date(Date.now() - 60_000) })),
      broken: 'not json',
    })
    const recorder = await recordEvents('redis://127.0.0.1:6379', [TASKS_ALL])
    const sink = createHistorySink(redis, {
      keys,
      maxlen: 1_000,
      runHistory: 30,
      retentionSeconds: 86_400,
    })
    const publisher = createPublisher(sink)
    try {
      const report = await closeStaleTasks({
        redis,
        keys,
        publisher,
        staleSeconds: 120,
        now: () => new Date(),
        logger,
      })
      expect([...report.closed].sort()).toEqual([early, lost].sort())
      expect(report.invalid).toBe(1)
      await publisher.flush()
      const closing = (taskId: string) =>
        recorder.of(taskId, TASKS_ALL).map((r) => r.event as TaskCompletedEvent)
      await recorder.until(
        () => closing(lost!).length === 1 && closing(early!).length === 1,
        'both tasks closed',
      )
      expect(closing(lost!)[0]).toMatchObject({
        event_type: 'task.completed',
        task_type: 'batch_daily',
        status: 'failed',
        duration_seconds: 90,
        message: 'worker lost: no event since 2026-01-09T08:01:30.000Z',
        result: { success: 38, failed: 2 },
      })
      expect(closing(early!)[0]).toMatchObject({
        status: 'failed',
        duration_seconds: 0,
        message: 'worker lost: no event since 2026-01-09T08:00:00.000Z',
        result: { success: 5, failed: 0 },
      })
      expect((await redis.hKeys(keys.tasks)).sort()).toEqual(['broken', fresh].sort())
      expect(recorder.of(fresh!)).toEqual([])
    } finally {
      sink.close()
      await recorder.close()
    }
  })
})
