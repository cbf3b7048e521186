import { createHash } from 'node:crypto'
import {
  compareStreamIds,
  createTaskCompletedEvent,
  historyKeys,
  INDICATORS_ALL,
  MARKET_ALL,
  marketChannel,
  parsePosition,
  TASKS_ALL,
  taskChannel,
} from '@stockpulse/events'
import { startRedisServer } from '@stockpulse/testing'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import {
  createHistorySink,
  type HistorySinkOptions,
  PUBLISH_BATCH,
  PUBLISH_SCRIPT,
} from './history-sink.js'
import { createJob } from './job.js'
import { createPublisher } from './publisher.js'
import { createRedisClient, waitForRedis } from './redis.js'
import { recordEvents, runningTask, uniqueId } from './test-support/events.js'
import { useSharedRedis } from './test-support/redis.js'

const logger = pino({ level: 'silent' })
const INDICATORS = ['SMA_5', 'SMA_20', 'MACD']

const completed = (taskId: string) =>
  createTaskCompletedEvent({
    task_id: taskId,
    task_type: 'batch_daily',
    status: 'completed',
    duration_seconds: 1,
    result: { success: 100, failed: 0 },
  })

// What the script publishes: the stored event with its position appended, as text.
// What a channel delivers live: the stream entry with its channel and position spliced in.
const delivered = (json: string, channel: string, epoch: string, id: string) =>
  `${json.slice(0, -1)},"channel":"${channel}","position":"${epoch}:${id}"}`
// An event as the history stores it: with the `seq` the script gave it.
const numbered = (event: object, seq: number) => JSON.stringify({ ...event, seq })

describe('history-sink', () => {
  describe('on the shared Redis (a key prefix of its own)', () => {
    const prefix = `${uniqueId('hist')}:`
    const keys = historyKeys(prefix)
    const shared = useSharedRedis(prefix)
    const sinkOf = (options: Partial<HistorySinkOptions> = {}) =>
      createHistorySink(shared(), {
        keys,
        maxlen: 1_000,
        runHistory: 30,
        retentionSeconds: 86_400,
        ...options,
      })

    it('publishes each channel message as its stream entry plus its position: one epoch, ids increasing', async () => {
      const redis = shared()
      const taskId = uniqueId('pos')
      const channels = [
        TASKS_ALL,
        taskChannel(taskId),
        INDICATORS_ALL,
        MARKET_ALL,
        marketChannel('000001'),
      ]
      const recorder = await recordEvents('redis://127.0.0.1:6379', channels)
      const sink = sinkOf()
      try {
        const summary = await createJob(
          {
            taskId,
            source: { kind: 'synthetic', stocks: 120, days: 80, seed: 5, date: '2026-01-09' },
            indicators: INDICATORS,
            concurrency: 1,
          },
          { publisher: createPublisher(sink), logger },
        ).run()
        expect(summary).toMatchObject({ status: 'completed', events_dropped: 0 })
        await recorder.until(
          () =>
            recorder.of(taskId, taskChannel(taskId)).at(-1)?.event.event_type === 'task.completed',
          'the task channel to carry task.completed',
        )
        expect(recorder.invalid).toEqual([])
        const epoch = (await redis.get(keys.epoch))!
        expect(epoch).toMatch(/^[a-z0-9]{14,32}$/)
        for (const channel of channels) {
          const entries = await redis.xRange(keys.stream(channel), '-', '+')
          const messages = recorder.of(taskId, channel).map((r) => r.message)
          expect(messages.length).toBeGreaterThan(0)
          expect(messages).toEqual(
            entries.map((e) => delivered(e.message.e!, channel, epoch, e.id)),
          )
          expect(entries.every((e) => !e.message.e!.includes('"position"'))).toBe(true)
          const ttl = await redis.ttl(keys.stream(channel))
          expect(ttl).toBeGreaterThan(0)
          expect(ttl).toBeLessThanOrEqual(86_400)
          const ids = recorder.of(taskId, channel).map((r) => parsePosition(r.event.position!)!)
          expect(new Set(ids.map((p) => p.epoch))).toEqual(new Set([epoch]))
          for (let i = 1; i < ids.length; i++) {
            expect(compareStreamIds(ids[i - 1]!.id, ids[i]!.id)).toBeLessThan(0)
          }
        }
        // One counter for every channel: seq rises in each channel, in the order of publication.
        const order = recorder.received.filter(
          (r) => 'task_id' in r.event && r.event.task_id === taskId,
        )
        for (const channel of channels) {
          const seqs = order.filter((r) => r.channel === channel).map((r) => r.event.seq!)
          expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
          expect(new Set(seqs).size).toBe(seqs.length)
        }
        expect(order.every((r) => r.event.channel === r.channel)).toBe(true)
        // Each event on two channels: the same event and seq, each copy with its own channel and position.
        const start = recorder.of(taskId).filter((r) => r.event.event_type === 'task.progress')
        expect(start[0]!.channel).toBe(TASKS_ALL)
        expect(start[1]!.channel).toBe(taskChannel(taskId))
        const [onTasks] = await redis.xRange(keys.stream(TASKS_ALL), '-', '+', { COUNT: 1 })
        const [onTask] = await redis.xRange(keys.stream(taskChannel(taskId)), '-', '+', {
          COUNT: 1,
        })
        expect(start[0]!.event.position).toBe(`${epoch}:${onTasks!.id}`)
        expect(start[1]!.event.position).toBe(`${epoch}:${onTask!.id}`)
        const copy = { position: 'x', channel: 'x' }
        expect({ ...start[0]!.event, ...copy }).toEqual({ ...start[1]!.event, ...copy })
      } finally {
        sink.close()
        await recorder.close()
      }
    })

    it('keeps the latest progress of a running task, and the finished runs newest first, capped', async () => {
      const redis = shared()
      const sink = sinkOf({ runHistory: 3 })
      const publisher = createPublisher(sink)
      const ids = [1, 2, 3, 4, 5].map(() => uniqueId('run'))
      try {
        const latest = runningTask(ids[0]!, 20)
        publisher.publish(runningTask(ids[0]!, 10), [TASKS_ALL, taskChannel(ids[0]!)])
        publisher.publish(latest, [TASKS_ALL, taskChannel(ids[0]!)])
        await publisher.flush()
        const seq = Number(await redis.get(keys.seq))
        expect(await redis.hGet(keys.tasks, ids[0]!)).toBe(numbered(latest, seq))
        const ends = ids.map(completed)
        for (const end of ends) publisher.publish(end, [TASKS_ALL, taskChannel(end.task_id)])
        await publisher.flush()
        expect(await redis.hExists(keys.tasks, ids[0]!)).toBe(0)
        expect(await redis.lRange(keys.runs, 0, -1)).toEqual(
          ends
            .slice(2)
            .reverse()
            .map((end, i) => numbered(end, seq + 5 - i)),
        )
        expect(publisher.stats()).toMatchObject({ events: 7, eventsDropped: 0 })
      } finally {
        sink.close()
      }
    })

    it('trims entries older than the retention and expires each stream a retention after its last event', async () => {
      const redis = shared()
      const taskId = uniqueId('age')
      const stream = keys.stream(taskChannel(taskId))
      const sink = sinkOf({ retentionSeconds: 3_600 })
      const publisher = createPublisher(sink)
      const recent = `${Date.now() - 60_000}-0`
      await redis.xAdd(stream, '1-0', { e: JSON.stringify(runningTask(taskId, 1)) })
      await redis.xAdd(stream, recent, { e: JSON.stringify(runningTask(taskId, 2)) })
      try {
        const event = runningTask(taskId, 3)
        publisher.publish(event, [TASKS_ALL, taskChannel(taskId)])
        await publisher.flush()
        expect(publisher.stats().eventsDropped).toBe(0)
        const entries = await redis.xRange(stream, '-', '+')
        expect(entries.map((e) => e.id)).toEqual([recent, expect.stringMatching(/^\d+-\d+$/)])
        expect(entries[1]!.message.e).toBe(numbered(event, Number(await redis.get(keys.seq))))
        for (const key of [stream, keys.stream(TASKS_ALL)]) {
          const ttl = await redis.ttl(key)
          expect(ttl).toBeGreaterThan(0)
          expect(ttl).toBeLessThanOrEqual(3_600)
        }
      } finally {
        sink.close()
      }
    })

    it('caps each stream near maxlen (approximate trimming)', async () => {
      const redis = shared()
      const taskId = uniqueId('cap')
      const sink = sinkOf({ maxlen: 50 })
      const publisher = createPublisher(sink)
      try {
        for (let i = 0; i < 1_000; i++) {
          publisher.publish(runningTask(taskId, i % 100), [taskChannel(taskId)])
          if (!publisher.writable) await publisher.room()
        }
        await publisher.flush()
        const length = await redis.xLen(keys.stream(taskChannel(taskId)))
        expect(length).toBeGreaterThanOrEqual(50)
        expect(length).toBeLessThanOrEqual(150)
      } finally {
        sink.close()
      }
    })
  })

  it('publishes the events of one tick in order with one script call per PUBLISH_BATCH events', async () => {
    const server = await startRedisServer()
    const client = createRedisClient(server.url, logger)
    client.connect().catch(() => {})
    const keys = historyKeys('b:')
    const sink = createHistorySink(client, {
      keys,
      maxlen: 1_000,
      runHistory: 30,
      retentionSeconds: 86_400,
    })
    const calls = async () => {
      const stats = await client.info('commandstats')
      return Number(/^cmdstat_evalsha:calls=(\d+)/m.exec(stats)?.[1] ?? 0)
    }
    try {
      await waitForRedis(client, 5_000)
      const publisher = createPublisher(sink)
      const before = await calls()
      const count = 2 * PUBLISH_BATCH + 10
      for (let i = 0; i < count; i++) {
        publisher.publish(runningTask('t1', i % 100), [TASKS_ALL, taskChannel('t1')])
      }
      await publisher.flush()
      expect(publisher.stats()).toEqual({ events: count, messages: 2 * count, eventsDropped: 0 })
      expect((await calls()) - before).toBe(3)
      for (const channel of [TASKS_ALL, taskChannel('t1')]) {
        const entries = await client.xRange(keys.stream(channel), '-', '+')
        expect(entries.map((e) => JSON.parse(e.message.e!).seq)).toEqual(
          Array.from({ length: count }, (_, i) => i + 1),
        )
      }
      // One event alone in its tick goes out in a call of its own.
      publisher.publish(runningTask('t1', 100), [TASKS_ALL])
      await publisher.flush()
      expect((await calls()) - before).toBe(4)
    } finally {
      sink.close()
      client.destroy()
      await server.stop()
    }
  })

  it('creates a new epoch, with seq from 1 again, when the old one is lost, and runs a flushed script again (NOSCRIPT)', async () => {
    const server = await startRedisServer()
    const client = createRedisClient(server.url, logger)
    client.connect().catch(() => {})
    const keys = historyKeys('p:')
    const sink = createHistorySink(client, {
      keys,
      maxlen: 100,
      runHistory: 30,
      retentionSeconds: 86_400,
    })
    const recorder = await recordEvents(server.url, [TASKS_ALL])
    try {
      await waitForRedis(client, 5_000)
      const publisher = createPublisher(sink)
      publisher.publish(runningTask('t1', 1), [TASKS_ALL])
      await publisher.flush()
      const first = await client.get(keys.epoch)
      await client.scriptFlush()
      await client.del(keys.epoch)
      publisher.publish(runningTask('t1', 2), [TASKS_ALL])
      await publisher.flush()
      const second = await client.get(keys.epoch)
      expect(publisher.stats().eventsDropped).toBe(0)
      expect(first).toMatch(/^[a-z0-9]+$/)
      expect(second).toMatch(/^[a-z0-9]+$/)
      expect(second).not.toBe(first)
      expect(
        await client.scriptExists(createHash('sha1').update(PUBLISH_SCRIPT).digest('hex')),
      ).toEqual([1])
      await recorder.until(() => recorder.received.length === 2, 'both events')
      expect(recorder.received.map((r) => parsePosition(r.event.position!)?.epoch)).toEqual([
        first,
        second,
      ])
      expect(recorder.received.map((r) => r.event.seq)).toEqual([1, 1])
    } finally {
      sink.close()
      await recorder.close()
      client.destroy()
      await server.stop()
    }
  })
})
