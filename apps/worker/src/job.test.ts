import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  createMemoryBus,
  type EventBus,
  historyKeys,
  INDICATORS_ALL,
  MARKET_ALL,
  parseEvent,
  type StockPulseEvent,
  TASKS_ALL,
  taskChannel,
} from '@stockpulse/events'
import { connectInBackground } from '@stockpulse/lifecycle'
import { startRedisServer, until } from '@stockpulse/testing'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { createCache } from './cache.js'
import { type ComputeExecutor, createInlineExecutor, createThreadPool } from './executor.js'
import { createHistorySink } from './history-sink.js'
import { createJob, type JobDeps, type JobParams } from './job.js'
import { busSink, createPublisher } from './publisher.js'
import { createRedisBus, createRedisClient, waitForRedis } from './redis.js'
import { openResultFile } from './result-file.js'
import { createResultStore } from './result-store.js'
import { syntheticCodes } from './synthetic.js'
import { type EventRecorder, recordEvents, THREAD_URL, uniqueId } from './test-support/events.js'
import { useSharedRedis } from './test-support/redis.js'

const logger = pino({ level: 'silent' })
const fixtures = fileURLToPath(new URL('../fixtures/csv', import.meta.url))
const INDICATORS = ['SMA_5', 'SMA_10', 'SMA_20', 'SMA_60', 'MACD', 'RSI', 'BBANDS', 'ATR', 'KDJ']
const CSV = { stocks: undefined, days: 250, dialect: 'auto' } as const

const synthetic = (stocks: number, taskId = uniqueId('job')): JobParams => ({
  taskId,
  source: { kind: 'synthetic', stocks, days: 120, seed: 3, date: '2026-01-09' },
  indicators: INDICATORS,
  concurrency: 1,
})

// Runs a job over a memory bus and returns its summary with every event it published, by channel.
async function runOnBus(params: JobParams, deps: Partial<JobDeps> = {}) {
  const bus = createMemoryBus()
  const events = record(bus, [TASKS_ALL, INDICATORS_ALL, MARKET_ALL, taskChannel(params.taskId)])
  const summary = await createJob(params, {
    publisher: createPublisher(busSink(bus)),
    logger,
    ...deps,
  }).run()
  await new Promise((resolve) => setImmediate(resolve))
  return { summary, events }
}

function record(bus: EventBus, channels: string[]) {
  const events: { channel: string; event: StockPulseEvent }[] = []
  for (const channel of channels) {
    bus.subscribe(channel, (message) => {
      const parsed = parseEvent(message)
      if (!parsed.ok) throw new Error(`invalid event on ${channel}: ${parsed.error.message}`)
      events.push({ channel, event: parsed.value })
    })
  }
  return events
}

describe('job', () => {
  describe('events, over a memory bus', () => {
    it.each([
      [1, 1],
      [49, 49],
      [50, 50],
      [51, 51],
      [101, 51],
      [333, 87],
    ])(
      '%i stocks: start, one event per stock, %i progress events up to 100, completed last',
      async (stocks, progressCount) => {
        const params = synthetic(stocks)
        const { summary, events } = await runOnBus(params)
        const onTasks = events.filter((e) => e.channel === TASKS_ALL).map((e) => e.event)
        const progress = onTasks.filter((e) => e.event_type === 'task.progress')
        expect(progress).toHaveLength(1 + progressCount)
        expect(progress[0]).toMatchObject({
          progress: 0,
          processed: 0,
          total: stocks,
          status: 'running',
        })
        expect(progress.at(-1)).toMatchObject({ progress: 100, processed: stocks })
        expect(onTasks.at(-1)).toMatchObject({ event_type: 'task.completed', status: 'completed' })
        expect(events.filter((e) => e.channel === INDICATORS_ALL)).toHaveLength(stocks)
        expect(events.filter((e) => e.channel === MARKET_ALL)).toHaveLength(stocks)
        const own = events
          .filter((e) => e.channel === taskChannel(params.taskId))
          .map((e) => e.event)
        expect(own).toHaveLength(1 + stocks + progressCount + 1)
        // The same event on both channels: one seq, each copy naming its own channel.
        expect({ ...own[0], channel: TASKS_ALL }).toEqual(progress[0])
        expect(own.every((e) => e.channel === taskChannel(params.taskId))).toBe(true)
        expect(summary).toMatchObject({ status: 'completed', total: stocks, processed: stocks })
      },
    )

    it('reports a stock that failed as a whole and one whose high has a NaN, the others going on', async () => {
      const { summary, events } = await runOnBus(synthetic(700))
      expect(summary).toMatchObject({ success: 698, failed: 2, failures_omitted: 0 })
      expect(summary.failures).toEqual([
        {
          stock_code: '600033',
          reason: 'too short history: 7 bars, the indicators need at least 60',
        },
        {
          stock_code: '000201',
          indicator: 'ATR',
          reason: 'high[60] is NaN: indicator inputs must be finite numbers',
        },
        {
          stock_code: '000201',
          indicator: 'KDJ',
          reason: 'high[60] is NaN: indicator inputs must be finite numbers',
        },
      ])
      const stock = (code: string) =>
        events.find(
          (e) =>
            e.channel === INDICATORS_ALL && 'stock_code' in e.event && e.event.stock_code === code,
        )?.event
      expect(stock('000201')).toMatchObject({
        indicators: ['SMA_5', 'SMA_10', 'SMA_20', 'SMA_60', 'MACD', 'RSI', 'BBANDS'],
        success_count: 7,
        failed_count: 2,
        errors: [
          { indicator: 'ATR', reason: 'high[60] is NaN: indicator inputs must be finite numbers' },
          { indicator: 'KDJ', reason: 'high[60] is NaN: indicator inputs must be finite numbers' },
        ],
      })
      expect(stock('600033')).toMatchObject({
        indicators: [],
        success_count: 0,
        failed_count: 9,
        latest: {},
      })
      const healthy = stock('000001')
      expect(healthy).toMatchObject({ success_count: 9, failed_count: 0, from_cache_count: 0 })
      expect(Object.keys((healthy as { latest: object }).latest)).toEqual(INDICATORS)
      expect(healthy).not.toHaveProperty('errors')
      const completed = events.at(-1)!.event
      expect(completed).toMatchObject({
        event_type: 'task.completed',
        result: { success: 698, failed: 2, failures_omitted: 0, events_dropped: 0 },
      })
    })

    it('caps the failure list and counts what it left out', async () => {
      const { summary } = await runOnBus({ ...synthetic(120), indicators: ['SMA_5', 'SMA_200'] })
      expect(summary).toMatchObject({ success: 0, failed: 120, failures_omitted: 20 })
      expect(summary.failures).toHaveLength(100)
      expect(summary.failures[0]).toEqual({
        stock_code: '000001',
        reason: 'too short history: 120 bars, the indicators need at least 200',
      })
    })

    it('loads csv files one by one and names the corrupt line', async () => {
      const { summary, events } = await runOnBus({
        taskId: uniqueId('csv'),
        source: { kind: 'csv', path: fixtures, ...CSV, date: '2030-01-01' },
        indicators: INDICATORS,
        concurrency: 1,
      })
      expect(summary).toMatchObject({ total: 9, success: 2, failed: 7 })
      expect(summary.failures.map((f) => `${f.stock_code}: ${f.reason}`)).toEqual([
        '000002: 000002.csv line 5: expected 6 columns, got 5',
        '000003: 000003.csv line 7: close is not a number: "abc"',
        '000004: 000004.csv line 3: high is NaN',
        '000005: 000005.csv line 4: open must be > 0, got -3.1',
        '000006: 000006.csv line 6: high 9.44 is below low 9.68',
        '000007: 000007.csv line 8: date 2025-10-08 repeats line 7',
        '000008: too short history: 10 bars, the indicators need at least 60',
      ])
      const snapshots = events.filter((e) => e.channel === MARKET_ALL).map((e) => e.event)
      expect(snapshots.map((e) => ('stock_code' in e ? e.stock_code : ''))).toEqual([
        '000001',
        '000008',
        '600000',
      ])
      expect(snapshots[0]).toMatchObject({ trade_date: '2026-01-20' })
    })

    it('fails only the indicator whose last value overflows, not the task', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'stockpulse-overflow-'))
      // 79 bars at 0.001 then one at 3e154: BBANDS' squared deviation overflows to Infinity.
      const rows = Array.from({ length: 80 }, (_, i) => {
        const price = i === 79 ? 3e154 : 0.001
        const date = new Date(Date.UTC(2025, 0, 1 + i)).toISOString().slice(0, 10)
        return `${date},${price},${price},${price},${price},100`
      })
      await writeFile(
        join(dir, '000009.csv'),
        `date,open,high,low,close,volume\n${rows.join('\n')}\n`,
      )
      try {
        const { summary, events } = await runOnBus({
          taskId: uniqueId('overflow'),
          source: { kind: 'csv', path: dir, ...CSV, date: '2030-01-01' },
          indicators: INDICATORS,
          concurrency: 1,
        })
        expect(summary).toMatchObject({ status: 'completed', success: 0, failed: 1 })
        expect(summary.failures).toEqual([
          {
            stock_code: '000009',
            indicator: 'BBANDS',
            reason: 'upper is Infinity: the prices are out of range',
          },
        ])
        const stock = events.find((e) => e.channel === INDICATORS_ALL)?.event
        expect(stock).toMatchObject({ success_count: 8, failed_count: 1 })
        expect(events.filter((e) => e.channel === MARKET_ALL)).toHaveLength(1)
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })

    it('ends with status failed when the stocks cannot be listed', async () => {
      const { summary, events } = await runOnBus({
        taskId: uniqueId('missing'),
        source: {
          kind: 'csv',
          path: '/nonexistent/stockpulse',
          ...CSV,
          date: '2026-01-09',
        },
        indicators: INDICATORS,
        concurrency: 1,
      })
      expect(summary.status).toBe('failed')
      expect(summary.message).toMatch(/^failed: ENOENT: no such file or directory, stat/)
      expect(events.map((e) => `${e.channel} ${e.event.event_type}`)).toEqual([
        `${TASKS_ALL} task.completed`,
        `${taskChannel(summary.task_id)} task.completed`,
      ])
    })

    it('ends with status failed, and still resolves, when the results file cannot be written', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'stockpulse-full-'))
      const path = join(dir, 'out.jsonl')
      await symlink('/dev/full', path)
      try {
        const params = synthetic(20)
        const resultFile = await openResultFile(path, [])
        const { summary, events } = await runOnBus(params, { resultFile })
        expect(summary).toMatchObject({
          status: 'failed',
          processed: 20,
          message: 'failed: results file: ENOSPC: no space left on device, write',
        })
        expect(events.at(-1)).toMatchObject({
          channel: taskChannel(params.taskId),
          event: { event_type: 'task.completed', status: 'failed', message: summary.message },
        })
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })

    it('is cancelled by its signal, and says so last', async () => {
      const controller = new AbortController()
      const params = { ...synthetic(400), pace: 2000 }
      const bus = createMemoryBus()
      const events = record(bus, [TASKS_ALL])
      const job = createJob(params, {
        publisher: createPublisher(busSink(bus)),
        logger,
        signal: controller.signal,
        onProgress: ({ processed }) => {
          if (processed === 100) controller.abort('cancel command')
        },
      })
      const summary = await job.run()
      await new Promise((resolve) => setImmediate(resolve))
      expect(summary).toMatchObject({
        status: 'cancelled',
        processed: 100,
        message: 'cancelled: cancel command',
      })
      expect(events.at(-1)?.event).toMatchObject({
        event_type: 'task.completed',
        status: 'cancelled',
        message: 'cancelled: cancel command',
      })
    })

    it('paces itself to the given stocks per second', async () => {
      const started = performance.now()
      const { summary } = await runOnBus({ ...synthetic(60), pace: 200 })
      expect(summary.processed).toBe(60)
      expect(performance.now() - started).toBeGreaterThanOrEqual(280)
    })
  })

  describe('with Redis', () => {
    const prefix = `${uniqueId('test')}:`
    const shared = useSharedRedis(prefix)

    it('publishes exactly 5,102 task and indicator events for 5,000 stocks, all valid and all in the history', async () => {
      const redis = shared()
      const params = { ...synthetic(5000), concurrency: 2 }
      const keys = historyKeys(prefix)
      const sink = createHistorySink(redis, {
        keys,
        maxlen: 20_000,
        runHistory: 30,
        retentionSeconds: 86_400,
      })
      const recorder = await recordEvents('redis://127.0.0.1:6379', [
        TASKS_ALL,
        INDICATORS_ALL,
        taskChannel(params.taskId),
      ])
      const pool = createThreadPool({ threads: 2, threadUrl: THREAD_URL })
      try {
        const summary = await createJob(params, {
          publisher: createPublisher(sink),
          logger,
          executor: () => pool,
        }).run()
        expect(summary).toMatchObject({
          status: 'completed',
          success: 4990,
          failed: 10,
          events_dropped: 0,
        })
        const shared = () =>
          recorder.of(params.taskId).filter((r) => r.channel !== taskChannel(params.taskId))
        await recorder.until(
          () => shared().at(-1)?.event.event_type === 'task.completed',
          'task.completed on events:tasks',
        )
        const events = shared()
        expect(events).toHaveLength(5102)
        expect(events.filter((r) => r.event.event_type === 'task.progress')).toHaveLength(101)
        expect(events.filter((r) => r.channel === INDICATORS_ALL)).toHaveLength(5000)
        expect(events[0]!.event).toMatchObject({
          event_type: 'task.progress',
          progress: 0,
          total: 5000,
        })
        expect(events.at(-1)!.event).toMatchObject({
          event_type: 'task.completed',
          status: 'completed',
          result: { success: 4990, failed: 10, events_dropped: 0 },
        })
        await recorder.until(
          () => recorder.of(params.taskId, taskChannel(params.taskId)).length === 5102,
          '5,102 events on the task channel',
        )
        expect(recorder.invalid).toEqual([])
        const [tasks, indicators, own] = await Promise.all(
          [TASKS_ALL, INDICATORS_ALL, taskChannel(params.taskId)].map((c) =>
            redis.xLen(keys.stream(c)),
          ),
        )
        expect(tasks! + indicators!).toBe(5102)
        expect(own).toBe(5102)
        const epoch = await redis.get(keys.epoch)
        expect(epoch).toMatch(/^[a-z0-9]{14,32}$/)
        expect(events.filter((r) => !r.event.position?.startsWith(`${epoch}:`))).toEqual([])
        expect(await redis.hExists(keys.tasks, params.taskId)).toBe(0)
        expect(await redis.lIndex(keys.runs, 0)).toBe(
          events.at(-1)!.message.replace(/,"channel":"[^"]+","position":"[^"]+"}$/, '}'),
        )
        // One order for the whole job: seq rises with every event, whatever its channel.
        const seqs = recorder.of(params.taskId, taskChannel(params.taskId)).map((r) => r.event.seq!)
        expect(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!)).toBe(true)
        // The task channel carries every event of the two shared channels, with the same seqs.
        expect(events.map((r) => r.event.seq!).sort((a, b) => a - b)).toEqual(seqs)
      } finally {
        sink.close()
        await pool.close()
        await recorder.close()
      }
    })

    it('serves a rerun of the same day from the cache and stores the results under the task id', async () => {
      const redis = shared()
      const deps = () => ({
        publisher: createPublisher(busSink(createRedisBus(redis))),
        logger,
        cache: createCache(redis, { prefix, ttlSeconds: 60 }),
        results: createResultStore(redis, { prefix, ttlSeconds: 60 }),
        executor: () => createInlineExecutor(),
      })
      const first = await createJob(synthetic(300), deps()).run()
      const second = await createJob(synthetic(300), deps()).run()
      expect(first.from_cache_count).toBe(0)
      // Every indicator of the 299 stocks with enough history.
      expect(second.from_cache_count).toBe(299 * 9)
      expect(second).toMatchObject({ success: 299, failed: 1 })
      expect(await redis.hLen(`${prefix}results:${second.task_id}`)).toBe(300)
      expect(await redis.ttl(`${prefix}results:${second.task_id}`)).toBeGreaterThan(0)
      const stored = JSON.parse((await redis.hGet(`${prefix}results:${second.task_id}`, '000001'))!)
      expect(stored).toMatchObject({ stock_code: '000001', trade_date: '2026-01-09' })
      expect(Object.keys(stored.latest)).toEqual(INDICATORS)
    })

    it('keeps computing while Redis is killed mid-run, warns once, counts what it dropped, and resumes in a new epoch', async () => {
      const server = await startRedisServer()
      const lines: { msg: string }[] = []
      const watched = pino(
        { level: 'warn' },
        { write: (line: string) => lines.push(JSON.parse(line)) },
      )
      const client = createRedisClient(server.url, watched)
      const connection = connectInBackground(client)
      await waitForRedis(client, 20_000)
      // Three acts, each gated on the previous: stocks 0-124 with Redis up (the kill starts at the
      // 100th), 125-249 once it is down for sure (all dropped; the restart starts at the 200th),
      // 250-999 once it is back and a recorder listens.
      const params = synthetic(1000)
      const keys = historyKeys(prefix)
      const sink = createHistorySink(client, {
        keys,
        maxlen: 20_000,
        runHistory: 30,
        retentionSeconds: 86_400,
      })
      const killed = deferred()
      const restarted = deferred()
      let before: string | null = null
      let recorder: EventRecorder | undefined
      const inline = createInlineExecutor()
      const gated: ComputeExecutor = {
        ...inline,
        async prepare(setup, chunk) {
          if (chunk.start >= 125) await killed.promise
          if (chunk.start >= 250) await restarted.promise
          return inline.prepare(setup, chunk)
        },
      }
      try {
        const job = createJob(params, {
          publisher: createPublisher(sink, { logger: watched }),
          logger,
          cache: createCache(client, { prefix, ttlSeconds: 60 }),
          results: createResultStore(client, { prefix, ttlSeconds: 60 }),
          executor: () => gated,
          onProgress: ({ processed }) => {
            if (processed === 100) {
              killed.settle(
                (async () => {
                  before = await client.get(keys.epoch)
                  await server.kill()
                  await until(() => !client.isReady, 'the worker to see Redis gone', 20_000)
                })(),
              )
            }
            if (processed === 200) {
              restarted.settle(
                (async () => {
                  await server.start()
                  recorder = await recordEvents(server.url, [TASKS_ALL, INDICATORS_ALL])
                  await until(() => client.isReady, 'the worker to reconnect', 20_000)
                })(),
              )
            }
          },
        })
        const summary = await job.run()
        expect(summary).toMatchObject({
          status: 'completed',
          processed: 1000,
          success: 998,
          failed: 2,
        })
        // At least stocks 125-199 and their progress events: published while Redis was down.
        expect(summary.events_dropped).toBeGreaterThanOrEqual(75)
        const after = recorder!
        await after.until(
          () => after.of(params.taskId).at(-1)?.event.event_type === 'task.completed',
          'task.completed after the restart',
        )
        const seen = after.of(params.taskId).map((r) => r.event)
        const stocks = seen.flatMap((e) =>
          e.event_type === 'stock.indicators.completed' ? [e.stock_code] : [],
        )
        expect(stocks.slice(-750)).toEqual(syntheticCodes(1000).slice(250))
        expect(new Set(stocks).size).toBe(stocks.length)
        expect(seen.at(-1)).toMatchObject({
          status: 'completed',
          result: { success: 998, failed: 2, events_dropped: summary.events_dropped },
        })
        expect(lines.map((line) => line.msg)).toEqual([
          'redis unreachable: computing goes on, events are dropped, reconnecting in the background',
        ])
        const epoch = await client.get(keys.epoch)
        expect(before).toMatch(/^[a-z0-9]+$/)
        expect(epoch).toMatch(/^[a-z0-9]+$/)
        expect(epoch).not.toBe(before)
        expect(seen.filter((e) => !e.position?.startsWith(`${epoch}:`))).toEqual([])
      } finally {
        sink.close()
        await recorder?.close()
        await connection.close()
        await server.stop()
      }
    })
  })
})

/** A promise settled later by another promise. */
function deferred() {
  let settle: (value: Promise<void>) => void = () => {}
  const promise = new Promise<void>((resolve) => {
    settle = resolve
  })
  return { promise, settle }
}
