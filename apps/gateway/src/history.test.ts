import {
  historyKeys,
  parseChannel,
  parsePosition,
  SINCE_START,
  validateEvent,
} from '@stockpulse/events'
import { type RedisServer, startRedisServer, until } from '@stockpulse/testing'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HistoryUnavailableError } from './errors.js'
import {
  asDelivered,
  canReplayWhole,
  canResume,
  createRedisHistory,
  type HistoryRequest,
  type StreamInfo,
} from './history.js'
import { startGateway, untilReady } from './test-support/gateway.js'
import { runWorkerJob } from './test-support/worker-job.js'

let redis: RedisServer
let client: ReturnType<typeof createClient>
beforeAll(async () => {
  redis = await startRedisServer()
  client = createClient({ url: redis.url, disableOfflineQueue: true })
  client.on('error', () => {})
  await client.connect()
})
afterAll(async () => {
  client.destroy()
  await redis.stop()
})

const channel = (name: string) => {
  const parsed = parseChannel(name)
  if (!parsed.ok) throw new Error(parsed.reason)
  return parsed.channel
}

describe('history', () => {
  const stream: StreamInfo = {
    firstId: '100-0',
    lastId: '200-5',
    maxDeletedId: '0-0',
    length: 30,
    entriesAdded: 30,
  }
  it.each<[string, string, string | undefined, StreamInfo | undefined, number, boolean]>([
    ['the last entry', 'e1:200-5', 'e1', stream, 0, true],
    ['an entry in the middle', 'e1:150-0', 'e1', stream, 20, true],
    ['the first entry', 'e1:100-0', 'e1', stream, 50, true],
    ['just over the limit', 'e1:150-0', 'e1', stream, 51, false],
    ['before the first entry (trimmed)', 'e1:99-9', 'e1', stream, 20, false],
    ['after a deleted entry', 'e1:150-0', 'e1', { ...stream, maxDeletedId: '160-0' }, 20, false],
    ['beyond the stream', 'e1:200-6', 'e1', stream, 0, false],
    ['another epoch', 'e0:150-0', 'e1', stream, 20, false],
    ['no epoch yet', 'e1:150-0', undefined, stream, 20, false],
    ['no stream', 'e1:150-0', 'e1', undefined, 0, false],
    ['an emptied stream at its end', 'e1:200-5', 'e1', { ...stream, firstId: undefined }, 0, true],
    ['an emptied stream', 'e1:150-0', 'e1', { ...stream, firstId: undefined }, 0, false],
  ])('resumes from %s: %s', (_, since, epoch, info, after, expected) => {
    expect(canResume(parsePosition(since)!, epoch, info, after, 50)).toBe(expected)
  })

  it.each<[string, string | undefined, StreamInfo | undefined, number, boolean]>([
    ['a stream never trimmed', 'e1', stream, 30, true],
    ['a stream of exactly the limit', 'e1', { ...stream, length: 50, entriesAdded: 50 }, 50, true],
    ['a stream over the limit', 'e1', { ...stream, length: 51, entriesAdded: 51 }, 51, false],
    ['a trimmed stream', 'e1', { ...stream, entriesAdded: 31 }, 30, false],
    ['no stream (expired, or never written)', 'e1', undefined, 0, false],
    ['no epoch yet', undefined, stream, 30, false],
  ])('replays the whole channel of %s: %s', (_, epoch, info, entries, expected) => {
    expect(canReplayWhole(epoch, info, entries, 50)).toBe(expected)
  })

  it('reads a whole channel for since "start", and refuses it once the stream was trimmed', async () => {
    const keys = historyKeys('whole:')
    const history = createRedisHistory(client, { keys, replayLimit: 100 })
    await client.set(keys.epoch, 'ep2')
    const key = keys.stream('events:task:calc_w')
    for (const id of ['5-1', '5-2', '5-3']) await client.xAdd(key, id, { e: `{"n":"${id}"}` })
    await client.hSet(keys.tasks, { calc_w: '{"w":1}' })
    const whole: HistoryRequest = { channel: channel('events:task:calc_w'), since: SINCE_START }
    expect(await history.read([whole])).toEqual([
      {
        epoch: 'ep2',
        lastId: '5-3',
        recoverable: true,
        entries: ['5-1', '5-2', '5-3'].map((id) => ({ id, json: `{"n":"${id}"}` })),
        tasks: ['{"w":1}'],
      },
    ])
    await client.xTrim(key, 'MAXLEN', 2)
    expect(await history.read([whole])).toEqual([
      { epoch: 'ep2', lastId: '5-3', recoverable: false, entries: [], tasks: ['{"w":1}'] },
    ])
    const missing: HistoryRequest = {
      channel: channel('events:task:calc_gone'),
      since: SINCE_START,
    }
    expect(await history.read([missing])).toEqual([
      { epoch: 'ep2', lastId: undefined, recoverable: false, entries: [], tasks: [] },
    ])
  })

  it('splices positions into stream entries exactly as the worker published them', async () => {
    const subscriber = client.duplicate()
    await subscriber.connect()
    const published: string[] = []
    await subscriber.subscribe('events:indicators', (message) => published.push(message))
    const job = runWorkerJob({
      redisUrl: redis.url,
      keyPrefix: 'splice:',
      taskId: 'calc_splice',
      stocks: 25,
    })
    await job.expectExit(0)
    await until(() => published.length === 25, 'the 25 stocks on events:indicators')
    await subscriber.close()
    const keys = historyKeys('splice:')
    const epoch = (await client.get(keys.epoch))!
    const entries = await client.xRange(keys.stream('events:indicators'), '-', '+')
    expect(entries).toHaveLength(25)
    expect(
      entries.map(({ id, message }) => asDelivered(message.e!, 'events:indicators', epoch, id)),
    ).toEqual(published)
  })

  it('reads epoch, streams and task state in one step, a missing stream included', async () => {
    const keys = historyKeys('read:')
    const history = createRedisHistory(client, { keys, replayLimit: 100 })
    expect(await history.read([{ channel: channel('events:tasks') }])).toEqual([
      { epoch: undefined, lastId: undefined, recoverable: false, entries: [], tasks: [] },
    ])
    await client.set(keys.epoch, 'ep1')
    for (const id of ['1-1', '1-2', '1-3']) {
      await client.xAdd(keys.stream('events:task:calc_r'), id, { e: `{"n":"${id}"}` })
    }
    await client.hSet(keys.tasks, { calc_r: '{"r":1}', calc_s: '{"s":1}' })
    const [task, tasks, system] = await history.read([
      { channel: channel('events:task:calc_r'), since: parsePosition('ep1:1-1') },
      { channel: channel('events:tasks'), since: parsePosition('ep1:9-9') },
      { channel: channel('events:system') },
    ])
    expect(task).toEqual({
      epoch: 'ep1',
      lastId: '1-3',
      recoverable: true,
      entries: [
        { id: '1-2', json: '{"n":"1-2"}' },
        { id: '1-3', json: '{"n":"1-3"}' },
      ],
      tasks: ['{"r":1}'],
    })
    expect(tasks).toEqual({
      epoch: 'ep1',
      lastId: undefined,
      recoverable: false,
      entries: [],
      tasks: ['{"r":1}', '{"s":1}'],
    })
    expect(system).toMatchObject({ lastId: undefined, recoverable: false, tasks: [] })
    expect(await history.activeTasks()).toEqual(['{"r":1}', '{"s":1}'])
  })

  it('rejects with HistoryUnavailableError while Redis cannot answer', async () => {
    const offline = createClient({ url: redis.url, disableOfflineQueue: true })
    const history = createRedisHistory(offline, { keys: historyKeys(), replayLimit: 10 })
    const failure = history.read([{ channel: channel('events:tasks') }])
    await expect(failure).rejects.toBeInstanceOf(HistoryUnavailableError)
    await expect(failure).rejects.toMatchObject({
      name: 'HistoryUnavailableError',
      operation: 'read',
    })
    await expect(history.runs(5)).rejects.toMatchObject({ operation: 'runs' })
  })
})

describe('GET /ws/history', () => {
  it('serves the last runs newest first, drops invalid ones, and is 503 while Redis is down', async () => {
    const test = await startGateway({ REDIS_URL: redis.url, KEY_PREFIX: 'runs:' })
    try {
      await untilReady(test)
      for (const taskId of ['calc_run1', 'calc_run2']) {
        const job = runWorkerJob({ redisUrl: redis.url, keyPrefix: 'runs:', taskId, stocks: 20 })
        await job.expectExit(0)
      }
      await client.rPush(historyKeys('runs:').runs, ['not json', '{"event_type":"task.progress"}'])
      const res = await fetch(test.httpUrl('/ws/history'))
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
      const { runs } = (await res.json()) as { runs: unknown[] }
      expect(runs.map((run) => (run as { task_id: string }).task_id)).toEqual([
        'calc_run2',
        'calc_run1',
      ])
      for (const run of runs) {
        expect(validateEvent(run)).toMatchObject({
          ok: true,
          value: { event_type: 'task.completed' },
        })
      }
      expect(test.gateway.stats().dropped_by_reason.invalid_history).toBe(2)
      const one = await (await fetch(test.httpUrl('/ws/history?limit=1'))).json()
      expect(one).toEqual({ runs: [runs[0]] })

      await redis.kill()
      const down = await fetch(test.httpUrl('/ws/history'))
      expect(down.status).toBe(503)
      expect(await down.json()).toEqual({ error: 'run history unavailable: Redis cannot be read' })
    } finally {
      await redis.start()
      await test.close()
    }
  })
})
