import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import {
  createMemoryBus,
  INDICATORS_ALL,
  parseEvent,
  type StockPulseEvent,
  SYSTEM,
  TASKS_ALL,
  userChannel,
  type WorkerInfo,
} from '@stockpulse/events'
import {
  bullPrefix,
  CHUNKS_QUEUE,
  createRunQueue,
  RUNS_QUEUE,
  type RunQueue,
  runKeys,
} from '@stockpulse/runs'
import { type RedisServer, startRedisServer, until } from '@stockpulse/testing'
import { Queue } from 'bullmq'
import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { parseConfig } from './config.js'
import {
  createQueueClient,
  createRedisBus,
  createRedisClient,
  type RedisClient,
  waitForRedis,
} from './redis.js'
import { createWorkerService, type WorkerService } from './service.js'
import { type EventRecorder, recordEvents, THREAD_URL } from './test-support/events.js'

const logger = pino({ level: process.env.TEST_LOG ?? 'silent' })
const context = { cores: 2, hostname: 'test', pid: 1 }
const PREFIX = 'svc:'
const serveConfig = (flags: string[], redisUrl = 'redis://127.0.0.1:6379') =>
  parseConfig(
    ['serve', '--days', '80', '--key-prefix', PREFIX, ...flags],
    { REDIS_URL: redisUrl },
    context,
  )

const completedOf = (recorder: EventRecorder, taskId: string) =>
  recorder.of(taskId, TASKS_ALL).find((r) => r.event.event_type === 'task.completed')?.event

describe('service', () => {
  describe('over Redis (a private server: the event channels are global)', () => {
    let server: RedisServer
    let client: RedisClient
    let queue: RunQueue
    let service: WorkerService | undefined
    let recorder: EventRecorder

    beforeAll(async () => {
      server = await startRedisServer()
      client = createRedisClient(server.url, logger)
      client.connect().catch(() => {})
      await waitForRedis(client, 5_000)
      queue = createRunQueue({ url: server.url, prefix: PREFIX })
      recorder = await recordEvents(server.url, [
        TASKS_ALL,
        INDICATORS_ALL,
        SYSTEM,
        userChannel('u1'),
      ])
    })
    afterEach(async () => {
      await service?.stop('test over')
      service = undefined
    })
    afterAll(async () => {
      await recorder.close()
      await queue.close()
      client.destroy()
      await server.stop()
    })

    const serve = (flags: string[], threadUrl = THREAD_URL) => {
      const started = createWorkerService({
        config: serveConfig(flags, server.url),
        bus: createRedisBus(client),
        redis: client,
        logger,
        threadUrl,
      })
      started.start()
      service = started
      return started
    }

    it('admits one run at a time, refuses bad requests, cancels, and tells who asked', async () => {
      serve([])
      expect(await queue.submit({ stocks: 0 })).toEqual({
        status: 400,
        body: {
          error: 'invalid_request',
          reason: 'stocks: Expected integer to be greater or equal to 1',
        },
      })
      expect(await queue.submit({ indicators: ['NOPE'] })).toMatchObject({
        status: 400,
        body: { error: 'invalid_request' },
      })
      expect(
        await queue.submit({ task_id: 'svc_a', stocks: 1000 }, { pace: 200, userId: 'u1' }),
      ).toEqual({ status: 202, body: { task_id: 'svc_a' } })
      expect(await queue.submit({ task_id: 'svc_b' })).toEqual({
        status: 409,
        body: {
          error: 'run_in_progress',
          reason: 'run svc_a is still running; runs do not overlap',
        },
      })
      expect(await queue.cancel('svc_other')).toEqual({
        status: 404,
        body: { error: 'unknown_run', reason: 'no run has the id svc_other' },
      })
      await recorder.until(() => recorder.of('svc_a', TASKS_ALL).length > 2, 'svc_a running')
      expect(await queue.cancel('svc_a')).toEqual({ status: 202, body: { task_id: 'svc_a' } })
      await recorder.until(() => completedOf(recorder, 'svc_a') !== undefined, 'svc_a completed')
      expect(completedOf(recorder, 'svc_a')).toMatchObject({
        status: 'cancelled',
        message: 'cancelled: cancelled by request',
      })
      expect(await queue.cancel('svc_a')).toEqual({
        status: 409,
        body: { error: 'run_finished', reason: 'run svc_a has finished: nothing to cancel' },
      })
      await recorder.until(
        () => recorder.received.some((r) => r.channel === userChannel('u1')),
        'a notification for u1',
      )
      expect(
        recorder.received.filter((r) => r.channel === userChannel('u1')).map((r) => r.event),
      ).toMatchObject([
        { user_id: 'u1', level: 'warning', title: 'Task svc_a cancelled', task_id: 'svc_a' },
      ])
      expect(await queue.submit({ task_id: 'svc_a' })).toEqual({
        status: 409,
        body: { error: 'run_exists', reason: 'a run with task id svc_a already exists' },
      })
      expect(await queue.submit({ task_id: 'svc_c', stocks: 40, seed: 9 })).toMatchObject({
        status: 202,
      })
      await recorder.until(() => completedOf(recorder, 'svc_c') !== undefined, 'svc_c completed')
      expect(completedOf(recorder, 'svc_c')).toMatchObject({
        status: 'completed',
        result: { success: 40, failed: 0 },
      })
      expect(recorder.of('svc_b', TASKS_ALL)).toEqual([])
      // svc_a, cancelled: one task.completed, and no stock of it after that (svc_c ran since).
      const ofA = recorder.received
        .filter((r) => r.channel === TASKS_ALL || r.channel === INDICATORS_ALL)
        .filter((r) => 'task_id' in r.event && r.event.task_id === 'svc_a')
        .map((r) => r.event.event_type)
      expect(ofA.filter((type) => type === 'task.completed')).toHaveLength(1)
      expect(ofA.at(-1)).toBe('task.completed')
      expect(ofA).toContain('stock.indicators.completed')
    })

    it('retries a chunk that throws, then marks its stocks failed and completes the run', async () => {
      const broken = join(tmpdir(), `broken-thread-${process.pid}.mjs`)
      writeFileSync(broken, 'process.exit(3)\n')
      const worker = serve(['--concurrency', '2', '--chunk-stocks', '10'], pathToFileURL(broken))
      expect(await queue.submit({ task_id: 'svc_broken', stocks: 20 })).toMatchObject({
        status: 202,
      })
      await recorder.until(
        () => completedOf(recorder, 'svc_broken') !== undefined,
        'svc_broken completed',
        30_000,
      )
      const completed = completedOf(recorder, 'svc_broken')
      expect(completed).toMatchObject({
        status: 'completed',
        message: 'Completed 20 stocks: 0 succeeded, 20 failed',
        result: { success: 0, failed: 20 },
      })
      expect(JSON.stringify(completed)).toContain('chunk failed for good after 3 attempts')
      const progress = recorder
        .of('svc_broken', TASKS_ALL)
        .map((r) => r.event)
        .filter((event) => event.event_type === 'task.progress')
      expect(progress.at(-1)).toMatchObject({
        processed: 20,
        total: 20,
        failed: 20,
        progress: 100,
        started_at: progress[0]?.timestamp,
      })
      // The failed chunks' stocks count in the worker's metrics like any failed stock.
      const metric = async (name: string) =>
        (await worker.metrics.registry.getSingleMetric(`stockpulse_worker_${name}`)?.get())
          ?.values[0]?.value
      expect(await metric('stocks_processed_total')).toBe(20)
      expect(await metric('stocks_failed_total')).toBe(20)
      expect(await metric('chunk_retries_total')).toBe(4)
    })

    it('says how many stocks were never published when a failed chunk cannot be read back', async () => {
      const broken = join(tmpdir(), `broken-thread-${process.pid}.mjs`)
      writeFileSync(broken, 'process.exit(3)\n')
      serve(['--concurrency', '2'], pathToFileURL(broken))
      expect(await queue.submit({ task_id: 'svc_lost', stocks: 20 })).toMatchObject({ status: 202 })
      const connection = createQueueClient(server.url)
      const chunks = new Queue(CHUNKS_QUEUE, {
        connection,
        prefix: bullPrefix(PREFIX),
        skipVersionCheck: true,
      })
      try {
        await until(
          async () => ((await chunks.getJob('svc_lost#0'))?.attemptsMade ?? 0) > 0,
          'the chunk failing once',
          20_000,
        )
        // Its data rewritten between tries: the next try refuses it, and nothing can read its codes.
        await client.hSet(`${bullPrefix(PREFIX)}:chunks:svc_lost#0`, 'data', '{"codes":[1]}')
      } finally {
        await chunks.close()
        connection.destroy()
      }
      await recorder.until(
        () => completedOf(recorder, 'svc_lost') !== undefined,
        'svc_lost completed',
        30_000,
      )
      expect(completedOf(recorder, 'svc_lost')).toMatchObject({
        status: 'completed',
        message:
          'Completed 20 stocks: 0 succeeded, 20 failed (20 never published: their chunk could not be read)',
        result: { success: 0, failed: 20 },
      })
    })

    it('closes a run as failed when its start or finish job fails for good, and frees the fleet', async () => {
      const keys = runKeys(PREFIX)
      // A cancel mark of the wrong type makes every try of the run's start job throw.
      expect(await queue.submit({ task_id: 'svc_nostart', stocks: 20 })).toMatchObject({
        status: 202,
      })
      await client.lPush(keys.cancel('svc_nostart'), 'not a string')
      serve([])
      await recorder.until(
        () => completedOf(recorder, 'svc_nostart') !== undefined,
        'svc_nostart closed',
        30_000,
      )
      expect(completedOf(recorder, 'svc_nostart')).toMatchObject({
        status: 'failed',
        message: expect.stringMatching(/^failed: the start job failed: WRONGTYPE/),
      })
      expect(await client.get(keys.active)).toBeNull()
      // The same mark set while the run runs: its chunk stops, its finish job throws at each try.
      expect(await queue.submit({ task_id: 'svc_nofinish', stocks: 40 }, { pace: 20 })).toEqual({
        status: 202,
        body: { task_id: 'svc_nofinish' },
      })
      await recorder.until(
        () => recorder.of('svc_nofinish', TASKS_ALL).length > 1,
        'svc_nofinish running',
      )
      await client.lPush(keys.cancel('svc_nofinish'), 'not a string')
      await recorder.until(
        () => completedOf(recorder, 'svc_nofinish') !== undefined,
        'svc_nofinish closed',
        30_000,
      )
      expect(completedOf(recorder, 'svc_nofinish')).toMatchObject({
        status: 'failed',
        message: expect.stringMatching(/^failed: the finish job failed: WRONGTYPE/),
      })
      const events = recorder.of('svc_nofinish', TASKS_ALL).map((r) => r.event.event_type)
      expect(events.filter((type) => type === 'task.completed')).toHaveLength(1)
      expect(events.at(-1)).toBe('task.completed')
      expect(await queue.cancel('svc_nofinish')).toEqual({
        status: 409,
        body: { error: 'run_finished', reason: 'run svc_nofinish has finished: nothing to cancel' },
      })
      expect(await queue.submit({ task_id: 'svc_after', stocks: 10 })).toMatchObject({
        status: 202,
      })
      await recorder.until(() => completedOf(recorder, 'svc_after') !== undefined, 'svc_after done')
      expect(completedOf(recorder, 'svc_after')).toMatchObject({ status: 'completed' })
    })

    it('publishes the first event of a run whose start job died before it got out', async () => {
      const keys = runKeys(PREFIX)
      expect(await queue.submit({ task_id: 'svc_restart', stocks: 20 })).toMatchObject({
        status: 202,
      })
      // What a start job SIGKILLed right after setting `starting` leaves behind.
      await client.hSet(keys.state('svc_restart'), {
        state: 'starting',
        total: 20,
        processed: 0,
        failed: 0,
        last: 0,
        started_ms: Date.now(),
      })
      serve([])
      await recorder.until(
        () => completedOf(recorder, 'svc_restart') !== undefined,
        'svc_restart completed',
      )
      const events = recorder.of('svc_restart', TASKS_ALL).map((r) => r.event)
      expect(events[0]).toMatchObject({
        event_type: 'task.progress',
        processed: 0,
        message: expect.stringMatching(/^Starting daily calculation for .*: 20 stocks$/),
      })
      const starts = events.filter(
        (event) => event.event_type === 'task.progress' && event.message.startsWith('Starting'),
      )
      expect(starts).toHaveLength(1)
      expect(events.at(-1)).toMatchObject({ status: 'completed', result: { success: 20 } })
    })

    it('refuses a finish job its run did not make: the run goes on to the end', async () => {
      serve([])
      expect(await queue.submit({ task_id: 'svc_forged', stocks: 60 }, { pace: 30 })).toEqual({
        status: 202,
        body: { task_id: 'svc_forged' },
      })
      await recorder.until(
        () => recorder.of('svc_forged', TASKS_ALL).length > 1,
        'svc_forged running',
      )
      // What anyone who may write the `runs` queue could add: a finish job for a running run.
      const connection = createQueueClient(server.url)
      const runs = new Queue(RUNS_QUEUE, {
        connection,
        prefix: bullPrefix(PREFIX),
        skipVersionCheck: true,
      })
      try {
        const forged = await runs.add('finish', { task_id: 'svc_forged' }, { jobId: 'forged' })
        await until(async () => (await forged.getState()) === 'failed', 'the forged job failed')
        expect((await runs.getJob('forged'))?.failedReason).toBe(
          'job "finish" refused: not a finish job of its run',
        )
      } finally {
        await runs.close()
        connection.destroy()
      }
      await recorder.until(
        () => completedOf(recorder, 'svc_forged') !== undefined,
        'svc_forged done',
      )
      const events = recorder.of('svc_forged', TASKS_ALL).map((r) => r.event)
      expect(events.filter((event) => event.event_type === 'task.completed')).toHaveLength(1)
      expect(events.at(-1)).toMatchObject({
        event_type: 'task.completed',
        status: 'completed',
        result: { success: 60, failed: 0 },
      })
    })

    it("tries a schedule tick again when the queue is out of reach, and runs the tick's date", async () => {
      const keys = runKeys(PREFIX)
      // An active mark of the wrong type fails every admission as an unreachable Redis does: 503.
      await client.hSet(keys.active, 'broken', '1')
      const tick = new Date(Math.ceil((Date.now() + 4_000) / 1000) * 1000)
      const cron = `${tick.getUTCSeconds()} ${tick.getUTCMinutes()} ${tick.getUTCHours()} * * *`
      serve(['--schedule', cron, '--time-zone', 'UTC', '--stocks', '20'])
      const connection = createQueueClient(server.url)
      const runs = new Queue(RUNS_QUEUE, {
        connection,
        prefix: bullPrefix(PREFIX),
        skipVersionCheck: true,
      })
      try {
        await until(
          async () =>
            (await runs.getDelayed()).some(
              (job) => job.name === 'scheduled' && job.attemptsMade > 0,
            ),
          'the tick waiting for its second try',
          20_000,
        )
      } finally {
        await runs.close()
        connection.destroy()
      }
      await client.del(keys.active)
      const taskId = `calc_${tick.getTime()}_schedule`
      await recorder.until(
        () => completedOf(recorder, taskId) !== undefined,
        `${taskId} completed`,
        30_000,
      )
      expect(recorder.of(taskId, TASKS_ALL)[0]?.event).toMatchObject({
        event_type: 'task.progress',
        message: `Starting daily calculation for ${tick.toISOString().slice(0, 10)}: 20 stocks`,
      })
    })

    it('beats with its chunks and the schedule, keeps the registry, and says when it stops', async () => {
      const worker = serve(['--heartbeat', '1', '--instance-id', 'w-test', '--concurrency', '2'])
      const beats = () =>
        recorder.received
          .filter((r) => r.channel === SYSTEM)
          .map((r) => r.event as Extract<StockPulseEvent, { event_type: 'system.heartbeat' }>)
          .filter((beat) => beat.instance_id === 'w-test')
      expect(await queue.submit({ task_id: 'svc_beat', stocks: 600 }, { pace: 300 })).toMatchObject(
        {
          status: 202,
        },
      )
      await recorder.until(
        () => beats().some((beat) => beat.current_chunk?.startsWith('svc_beat#') === true),
        'a heartbeat naming a chunk of svc_beat',
      )
      await recorder.until(
        () => beats().some((beat) => beat.next_run_at !== undefined),
        'a heartbeat with the next scheduled run',
      )
      expect(beats().at(-1)).toMatchObject({
        service: 'worker',
        status: 'ok',
        host: expect.any(String),
        threads: 2,
        active_task_id: 'svc_beat',
      })
      const entry = JSON.parse(
        (await client.hGet(runKeys(PREFIX).workers, 'w-test')) ?? '{}',
      ) as WorkerInfo
      expect(entry).toMatchObject({ instance_id: 'w-test', threads: 2, status: 'ok' })
      expect(worker.nextScheduledRun).toBeInstanceOf(Date)
      await worker.stop('SIGTERM')
      await recorder.until(() => beats().at(-1)?.status === 'stopping', 'a stopping heartbeat')
      // It handed its chunks in flight back: another worker finishes the run.
      expect(completedOf(recorder, 'svc_beat')).toBeUndefined()
      serve([])
      await recorder.until(
        () => completedOf(recorder, 'svc_beat') !== undefined,
        'svc_beat completed by the next worker',
        30_000,
      )
      expect(completedOf(recorder, 'svc_beat')).toMatchObject({
        status: 'completed',
        message: 'Completed 600 stocks: 598 succeeded, 2 failed',
      })
      const progressEvents = recorder
        .of('svc_beat', TASKS_ALL)
        .map((r) => r.event)
        .filter((event) => event.event_type === 'task.progress')
      const progress = progressEvents.map((event) => event.processed)
      expect(progress).toEqual([...progress].sort((a, b) => a - b))
      expect(progress.at(-1)).toBe(600)
      // Every progress, from the start job and from both workers' chunks, dates the run's start.
      const startedAt = progressEvents[0]?.started_at
      expect(startedAt).toBe(progressEvents[0]?.timestamp)
      expect(progressEvents.map((event) => event.started_at)).toEqual(
        progressEvents.map(() => startedAt),
      )
    })

    it('submits one paced run at once with --demo', async () => {
      serve(['--demo', '--stocks', '120', '--pace', '2000'])
      await recorder.until(
        () =>
          recorder.received.some(
            (r) =>
              r.channel === TASKS_ALL &&
              r.event.event_type === 'task.completed' &&
              r.event.status === 'completed' &&
              r.event.result.success + r.event.result.failed === 120,
          ),
        'the demo run completed',
      )
    })
  })

  describe('in memory (the one-process demo)', () => {
    it('runs the demo task on an EventBus, without Redis, cache or queue', async () => {
      const bus = createMemoryBus()
      const events: StockPulseEvent[] = []
      bus.subscribe(TASKS_ALL, (message) => {
        const parsed = parseEvent(message)
        if (parsed.ok) events.push(parsed.value)
      })
      const beats: string[] = []
      bus.subscribe(SYSTEM, (message) => {
        const parsed = parseEvent(message)
        if (parsed.ok && parsed.value.event_type === 'system.heartbeat')
          beats.push(parsed.value.status)
      })
      const service = createWorkerService({
        config: serveConfig(['--demo', '--stocks', '30', '--pace', '1000']),
        bus,
        logger,
      })
      service.start()
      await vi.waitFor(() => expect(events.at(-1)?.event_type).toBe('task.completed'), {
        timeout: 20_000,
      })
      expect(events.at(-1)).toMatchObject({ status: 'completed', result: { success: 30 } })
      expect(service.nextScheduledRun).toBeUndefined()
      await service.stop('test over')
      expect(beats).toEqual(['ok', 'stopping'])
    })
  })
})
