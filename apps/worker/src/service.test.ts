import {
  createMemoryBus,
  createTaskProgressEvent,
  historyKeys,
  parseEvent,
  type StockPulseEvent,
  SYSTEM,
  TASKS_ALL,
  userChannel,
  WORKER_COMMANDS,
} from '@stockpulse/events'
import { freePort, type RedisServer, startRedisServer, until } from '@stockpulse/testing'
import { pino } from 'pino'
import { createClient } from 'redis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { parseConfig } from './config.js'
import { createRedisBus, createRedisClient, type RedisClient, waitForRedis } from './redis.js'
import { createWorkerService, type WorkerService } from './service.js'
import { type EventRecorder, recordEvents, THREAD_URL } from './test-support/events.js'

const logger = pino({ level: 'silent' })
const context = { cores: 2, hostname: 'test', pid: 1 }
const serveConfig = (flags: string[], redisUrl = 'redis://127.0.0.1:6379') =>
  parseConfig(['serve', '--days', '80', ...flags], { REDIS_URL: redisUrl }, context)

const completedOf = (recorder: EventRecorder, taskId: string) =>
  recorder.of(taskId, TASKS_ALL).find((r) => r.event.event_type === 'task.completed')?.event

describe('service', () => {
  describe('over Redis (a private server: the command channel is global)', () => {
    let server: RedisServer
    let client: RedisClient
    let sender: ReturnType<typeof createClient>
    let service: WorkerService | undefined
    let recorder: EventRecorder

    beforeAll(async () => {
      server = await startRedisServer()
      client = createRedisClient(server.url, logger)
      client.connect().catch(() => {})
      await waitForRedis(client, 5_000)
      sender = createClient({ url: server.url })
      await sender.connect()
      recorder = await recordEvents(server.url, [TASKS_ALL, SYSTEM, userChannel('u1')])
    })
    afterEach(async () => {
      await service?.stop('test over')
      service = undefined
    })
    afterAll(async () => {
      await recorder.close()
      sender.destroy()
      client.destroy()
      await server.stop()
    })

    const serve = async (flags: string[]) => {
      const bus = createRedisBus(client)
      const started = createWorkerService({
        config: serveConfig(flags, server.url),
        bus,
        redis: client,
        logger,
        threadUrl: THREAD_URL,
      })
      started.start()
      await until(
        async () => Number((await sender.pubSubNumSub(WORKER_COMMANDS))[WORKER_COMMANDS]) >= 1,
        'the service to subscribe to commands',
        20_000,
      )
      service = started
      return started
    }
    const send = (command: unknown) =>
      sender.publish(
        WORKER_COMMANDS,
        typeof command === 'string' ? command : JSON.stringify(command),
      )

    it('starts, refuses and cancels tasks by command; bad commands are counted, never thrown', async () => {
      const worker = await serve([])
      await send('not json')
      await send({ command: 'explode' })
      await send({ command: 'start', stocks: 0 })
      await send({ command: 'start', task_id: 'svc_a', stocks: 1000, pace: 500, user_id: 'u1' })
      await send({ command: 'start', task_id: 'svc_b', user_id: 'u1' })
      await send({ command: 'start', indicators: ['NOPE'] })
      await send({ command: 'cancel', task_id: 'svc_other' })
      await recorder.until(() => recorder.of('svc_a', TASKS_ALL).length > 2, 'svc_a running')
      await send({ command: 'cancel', task_id: 'svc_a' })
      await recorder.until(() => completedOf(recorder, 'svc_a') !== undefined, 'svc_a completed')
      expect(completedOf(recorder, 'svc_a')).toMatchObject({
        status: 'cancelled',
        message: 'cancelled: cancel command',
      })
      await recorder.until(
        () => recorder.received.filter((r) => r.channel === userChannel('u1')).length === 2,
        'two notifications for u1',
      )
      expect(
        recorder.received.filter((r) => r.channel === userChannel('u1')).map((r) => r.event),
      ).toMatchObject([
        {
          user_id: 'u1',
          level: 'warning',
          title: 'Task not started',
          message: 'task svc_a is still running',
          task_id: 'svc_b',
        },
        { user_id: 'u1', level: 'warning', title: 'Task svc_a cancelled', task_id: 'svc_a' },
      ])
      await send({ command: 'start', task_id: 'svc_c', stocks: 40, seed: 9, date: '2026-01-09' })
      await recorder.until(() => completedOf(recorder, 'svc_c') !== undefined, 'svc_c completed')
      expect(completedOf(recorder, 'svc_c')).toMatchObject({
        status: 'completed',
        result: { success: 40, failed: 0 },
      })
      expect(recorder.of('svc_b', TASKS_ALL)).toEqual([])
      expect(worker.stats()).toEqual({
        tasksStarted: 2,
        commandsReceived: 9,
        commandsInvalid: 3,
        commandsRefused: 3,
      })
    })

    it('beats on events:system and, on SIGTERM, cancels the running task and says so', async () => {
      const worker = await serve(['--heartbeat', '1', '--instance-id', 'w-test'])
      const beats = () =>
        recorder.received
          .filter((r) => r.channel === SYSTEM)
          .map((r) => r.event as Extract<StockPulseEvent, { event_type: 'system.heartbeat' }>)
          .filter((beat) => beat.instance_id === 'w-test')
      const running = worker.runTask({ taskId: 'svc_term', stocks: 3000, pace: 400 })
      await recorder.until(
        () => beats().some((beat) => beat.active_task_id === 'svc_term'),
        'a heartbeat naming svc_term',
      )
      await worker.stop('SIGTERM')
      const summary = await running
      expect(summary).toMatchObject({
        status: 'cancelled',
        message: 'cancelled: worker shutting down (SIGTERM)',
      })
      await recorder.until(() => beats().at(-1)?.status === 'stopping', 'a stopping heartbeat')
      await recorder.until(
        () => completedOf(recorder, 'svc_term') !== undefined,
        'svc_term completed',
      )
      expect(completedOf(recorder, 'svc_term')).toMatchObject({
        status: 'cancelled',
        message: 'cancelled: worker shutting down (SIGTERM)',
      })
      expect(beats()[0]).toMatchObject({ service: 'worker', status: 'ok' })
      await expect(worker.runTask()).rejects.toThrow('the worker is stopping')
    })

    it('closes a task its lost worker left running when a task starts, and runs the new one', async () => {
      const keys = historyKeys()
      const lastSeen = new Date('2026-01-09T08:30:00.000Z')
      const lost = createTaskProgressEvent(
        {
          task_id: 'svc_lost',
          task_type: 'batch_daily',
          status: 'running',
          progress: 12,
          message: 'Processing 000601 (600/5000)',
          processed: 600,
          total: 5000,
          failed: 1,
        },
        lastSeen,
      )
      await sender.hSet(keys.tasks, 'svc_lost', JSON.stringify(lost))
      const worker = await serve([])
      const summary = await worker.runTask({ taskId: 'svc_next', stocks: 30 })
      expect(summary).toMatchObject({ status: 'completed', success: 30 })
      await recorder.until(
        () => completedOf(recorder, 'svc_next') !== undefined,
        'svc_next completed',
      )
      expect(completedOf(recorder, 'svc_lost')).toMatchObject({
        status: 'failed',
        message: 'worker lost: no event since 2026-01-09T08:30:00.000Z',
        duration_seconds: 0,
        result: { success: 599, failed: 1 },
      })
      const order = recorder.received.filter((r) => r.channel === TASKS_ALL).map((r) => r.event)
      expect(order.findIndex((e) => 'task_id' in e && e.task_id === 'svc_lost')).toBeLessThan(
        order.findIndex((e) => 'task_id' in e && e.task_id === 'svc_next'),
      )
      expect(await sender.hKeys(keys.tasks)).toEqual([])
      expect(JSON.parse((await sender.lIndex(keys.runs, 0))!)).toMatchObject({
        task_id: 'svc_next',
      })
    })

    it('starts one paced task at once with --demo', async () => {
      const worker = await serve(['--demo', '--stocks', '120', '--pace', '2000'])
      const taskId = worker.activeTaskId
      expect(taskId).toMatch(/^calc_\d+_[0-9a-f]{4}$/)
      await recorder.until(
        () => completedOf(recorder, taskId!) !== undefined,
        'the demo task completed',
      )
      expect(completedOf(recorder, taskId!)).toMatchObject({ status: 'completed' })
    })
  })

  describe('in memory (the one-process demo)', () => {
    afterEach(() => {
      vi.useRealTimers()
    })

    it('takes commands and publishes events on an EventBus, without Redis or cache', async () => {
      const bus = createMemoryBus()
      const events: StockPulseEvent[] = []
      bus.subscribe(TASKS_ALL, (message) => {
        const parsed = parseEvent(message)
        if (parsed.ok) events.push(parsed.value)
      })
      const service = createWorkerService({ config: serveConfig(['--stocks', '30']), bus, logger })
      service.start()
      bus.publish(WORKER_COMMANDS, JSON.stringify({ command: 'start', task_id: 'mem_1' }))
      await vi.waitFor(() => expect(events.at(-1)?.event_type).toBe('task.completed'))
      expect(events.at(-1)).toMatchObject({
        task_id: 'mem_1',
        status: 'completed',
        result: { success: 30 },
      })
      await service.stop('test over')
    })

    it('runs the job at the scheduled time and beats degraded while its Redis is down', async () => {
      vi.useFakeTimers({
        now: new Date('2026-01-09T08:29:59Z'),
        toFake: ['setTimeout', 'clearTimeout', 'Date'],
      })
      const bus = createMemoryBus()
      const beats: string[] = []
      bus.subscribe(SYSTEM, (message) => {
        const parsed = parseEvent(message)
        if (parsed.ok && parsed.value.event_type === 'system.heartbeat')
          beats.push(parsed.value.status)
      })
      const down = createRedisClient(`redis://127.0.0.1:${await freePort()}`, logger)
      down.connect().catch(() => {})
      // History off: events go to the memory bus, not through the Redis that is down.
      const service = createWorkerService({
        config: serveConfig(['--stocks', '20', '--cache-ttl', '0', '--history-maxlen', '0']),
        bus,
        redis: down,
        logger,
      })
      service.start()
      expect(service.nextScheduledRun?.toISOString()).toBe('2026-01-09T08:30:00.000Z')
      expect(service.activeTaskId).toBeUndefined()
      vi.advanceTimersByTime(1_000)
      expect(service.activeTaskId).toMatch(/^calc_/)
      expect(service.nextScheduledRun?.toISOString()).toBe('2026-01-12T08:30:00.000Z')
      vi.useRealTimers()
      await service.stop('test over')
      await new Promise((resolve) => setImmediate(resolve))
      expect(beats).toEqual(['degraded', 'stopping'])
      down.destroy()
    })
  })
})
