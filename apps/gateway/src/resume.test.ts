import { historyKeys, parsePosition } from '@stockpulse/events'
import { type NodeProcess, type RedisServer, startRedisServer, until } from '@stockpulse/testing'
import { createClient } from 'redis'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type Received,
  startGateway,
  TestClient,
  type TestGateway,
  untilReady,
} from './test-support/gateway.js'
import { withRedis } from './test-support/redis.js'
import { expectWholeJob, lastPositions, runWorkerJob } from './test-support/worker-job.js'

const shared = withRedis()
const JOB_CHANNELS = ['events:tasks', 'events:indicators']
let test: TestGateway | undefined
const clients: TestClient[] = []
const jobs: NodeProcess[] = []

afterEach(async () => {
  // A job outliving its test would publish into the next one's channels.
  await Promise.all(jobs.splice(0).map((job) => job.stop()))
  await Promise.all(clients.splice(0).map((client) => client.close()))
  await test?.close()
  test = undefined
})

/** Where the current test's gateway reads the history and its worker job writes it. */
let place = { name: '', redisUrl: '' }

/** A gateway reading the history under `<name>:` in Redis at `redisUrl`. */
async function gateway(
  name: string,
  env: Record<string, string> = {},
  redisUrl = shared.redis.url,
) {
  place = { name, redisUrl }
  test = await startGateway({ REDIS_URL: redisUrl, KEY_PREFIX: `${name}:`, ...env })
  await untilReady(test)
  return test
}

/** The worker CLI running task `calc_<name>` where the gateway reads, `pace` stocks a second. */
function startJob(stocks: number, pace?: number) {
  const { name, redisUrl } = place
  const options = { redisUrl, keyPrefix: `${name}:`, taskId: `calc_${name}`, stocks }
  return track(runWorkerJob(pace === undefined ? options : { ...options, pace }))
}

function track(job: NodeProcess): NodeProcess {
  jobs.push(job)
  return job
}

async function open(query: string): Promise<TestClient> {
  const client = await TestClient.open(test!.wsUrl(query))
  clients.push(client)
  return client
}

/** Connects with no channel, then resumes `channels` from `since` with one subscribe frame. */
async function resume(since: Record<string, string>, channels = JOB_CHANNELS) {
  const client = await open('?channels=')
  client.send({ type: 'subscribe', id: 'resume', channels, since })
  const ack = await client.next((m) => m.type === 'subscribed' && m.id === 'resume', 10_000)
  return { client, ack, before: client.received.slice(2, client.received.indexOf(ack)) }
}

/** Resolves once `prefix`'s stream of `channel` holds `count` events. */
async function untilPublished(prefix: string, channel: string, count: number) {
  const reader = createClient({ url: shared.redis.url })
  await reader.connect()
  try {
    const key = historyKeys(prefix).stream(channel)
    await until(
      async () => (await reader.xLen(key)) >= count,
      `${count} events on ${channel}`,
      20_000,
    )
  } finally {
    await reader.close()
  }
}

/** The epoch and the positions of the first and last entries of a channel's stream. */
async function streamEnds(prefix: string, channel: string) {
  const reader = createClient({ url: shared.redis.url })
  await reader.connect()
  const keys = historyKeys(prefix)
  const [epoch, [first], [last]] = await Promise.all([
    reader.get(keys.epoch),
    reader.xRange(keys.stream(channel), '-', '+', { COUNT: 1 }),
    reader.xRevRange(keys.stream(channel), '+', '-', { COUNT: 1 }),
  ])
  await reader.close()
  return { epoch, first: `${epoch}:${first!.id}`, last: `${epoch}:${last!.id}` }
}

const isEvent = (m: Received) => 'event_type' in m
/** The `position` of an ack's `i`th result. */
const ackPosition = (ack: Received | undefined, i = 0) =>
  (ack?.results as Array<{ position?: string }> | undefined)?.[i]?.position
const stocksOf = (client: TestClient) =>
  client.events().filter((e) => e.event_type === 'stock.indicators.completed').length

describe('resume', () => {
  it('brings a client back after 1,000 stocks away mid-job with every event exactly once, in order', async () => {
    await gateway('away')
    const first = await open('?channels=events:tasks,events:indicators')
    // 5,000 stocks at 500 a second: the job runs for 10 s, the client is away from 2 s to ~4 s.
    const job = startJob(5_000, 500)
    await until(() => stocksOf(first) >= 1_000, '1,000 stocks live', 20_000)
    await first.close()
    const seen = first.events()
    await untilPublished('away:', 'events:indicators', stocksOf(first) + 1_000)

    // Frozen while the client comes back: it resumes mid-job however loaded the machine.
    job.child.kill('SIGSTOP')
    const { client, ack, before } = await resume(lastPositions(seen))
    expect(job.child.exitCode, 'the job was still running when the client resumed').toBeNull()
    job.child.kill('SIGCONT')
    expect(ack.results).toEqual(
      JOB_CHANNELS.map((channel) => ({
        channel,
        ok: true,
        recovered: true,
        position: expect.stringMatching(/^[a-z0-9]+:\d+-\d+$/),
      })),
    )
    // The replay came before the ack: what was missed while away.
    expect(before.length).toBeGreaterThan(1_000)
    expect(before.every(isEvent)).toBe(true)
    await client.next((m) => m.event_type === 'task.completed', 20_000)
    await job.expectExit(0)
    const all = [...seen, ...client.events()]
    expect(all).toHaveLength(5_102)
    expect(new Set(all.map((e) => `${e.channel} ${e.position}`)).size).toBe(5_102)
    expectWholeJob(all, 5_000)
    expect(test!.gateway.stats()).toMatchObject({
      resumes: { recovered: 2, unrecovered: 0 },
      history_events: { replayed: before.length, snapshot: 0 },
    })
    const metrics = (await (await fetch(test!.httpUrl('/metrics'))).text()).split('\n')
    expect(metrics).toContain('stockpulse_gateway_resumes_total{outcome="recovered"} 2')
    expect(metrics).toContain(
      `stockpulse_gateway_history_events_total{kind="replayed"} ${before.length}`,
    )
  })

  it('replays a task channel from its first event for since "start", mid-job and after the end', async () => {
    await gateway('whole')
    const watcher = await open('?channels=events:task:calc_whole')
    const job = startJob(2_000, 1_000)
    await until(() => stocksOf(watcher) >= 1_000, 'half of the job live', 20_000)
    const {
      client: mid,
      ack,
      before,
    } = await resume({ 'events:task:calc_whole': 'start' }, ['events:task:calc_whole'])
    expect(ack.results).toEqual([
      {
        channel: 'events:task:calc_whole',
        ok: true,
        recovered: true,
        position: expect.stringMatching(/^[a-z0-9]+:\d+-\d+$/),
      },
    ])
    expect(before.length).toBeGreaterThanOrEqual(1_000)
    expect(before[0]).toMatchObject({ event_type: 'task.progress', processed: 0 })
    await job.expectExit(0)
    await until(() => stocksOf(mid) === 2_000, 'every stock on the page opened mid-job')
    await until(() => mid.events().at(-1)?.event_type === 'task.completed', 'the completion')
    const copy = (e: Received) => `${e.seq} ${e.position}`
    expect(mid.events().map(copy)).toEqual(watcher.events().map(copy))

    const { client: late, ack: lateAck } = await resume({ 'events:task:calc_whole': 'start' }, [
      'events:task:calc_whole',
    ])
    expect(lateAck.results).toMatchObject([{ recovered: true }])
    expect(late.events().map(copy)).toEqual(watcher.events().map(copy))
  })

  it('brings back a client away from 30 % to after the end: every event once, the completion last', async () => {
    await gateway('late')
    const first = await open('?channels=events:tasks,events:indicators')
    const job = startJob(5_000, 2_500)
    await until(() => stocksOf(first) >= 1_500, '30 % of the job live', 20_000)
    await first.close()
    await job.expectExit(0)

    const { client, ack, before } = await resume(lastPositions(first.events()))
    expect(ack.results).toMatchObject(JOB_CHANNELS.map((channel) => ({ channel, recovered: true })))
    // The whole rest of the job came in the replay, before the ack, in the order of publication.
    expect(client.events()).toEqual(before)
    const all = [...first.events(), ...client.events()]
    expect(all).toHaveLength(5_102)
    expectWholeJob(all, 5_000)
  })

  it('keeps two interleaved tasks in the order of publication across a resume', async () => {
    await gateway('pair')
    const watcher = await open('?channels=events:tasks,events:indicators')
    const away = await open('?channels=events:tasks,events:indicators')
    const pair = ['calc_pair_a', 'calc_pair_b'].map((taskId) =>
      track(
        runWorkerJob({
          redisUrl: shared.redis.url,
          keyPrefix: 'pair:',
          taskId,
          stocks: 1_000,
          pace: 500,
        }),
      ),
    )
    await until(() => stocksOf(away) >= 800, '800 stocks of the two tasks live', 20_000)
    await away.close()
    await Promise.all(pair.map((job) => job.expectExit(0)))
    const ends = () => watcher.events().filter((e) => e.event_type === 'task.completed')
    await until(() => ends().length === 2, 'both tasks completed')

    const { client } = await resume(lastPositions(away.events()))
    const copy = (e: Received) => `${e.seq} ${e.channel}`
    const seen = [...away.events(), ...client.events()]
    expect(seen.map(copy)).toEqual(watcher.events().map(copy))
    for (const taskId of ['calc_pair_a', 'calc_pair_b']) {
      const own = seen.filter((e) => e.task_id === taskId)
      expect(own.filter((e) => e.event_type === 'stock.indicators.completed')).toHaveLength(1_000)
      expect(own.at(-1)?.event_type).toBe('task.completed')
    }
  })

  it('merges the replay of one channel with the snapshot of another joined plainly', async () => {
    await gateway('mixed')
    const watcher = await open('?channels=events:tasks,events:indicators')
    const first = await open('?channels=events:indicators')
    // 2,000 stocks at 250 a second: 8 s, the client is back after about 3.
    const job = startJob(2_000, 250)
    await until(() => stocksOf(first) >= 500, '500 stocks live', 20_000)
    await first.close()
    await untilPublished('mixed:', 'events:indicators', stocksOf(first) + 200)

    job.child.kill('SIGSTOP')
    const { client, ack, before } = await resume(lastPositions(first.events()))
    expect(job.child.exitCode, 'the job was still running when the client came back').toBeNull()
    job.child.kill('SIGCONT')
    expect(ack.results).toMatchObject([
      { channel: 'events:tasks', ok: true },
      { channel: 'events:indicators', ok: true, recovered: true },
    ])
    const [snapshot, ...others] = before.filter((e) => e.channel === 'events:tasks')
    expect(others).toEqual([])
    expect(snapshot).toMatchObject({ event_type: 'task.progress', status: 'running' })
    expect(snapshot).not.toHaveProperty('position')
    await client.next((m) => m.event_type === 'task.completed', 20_000)
    await job.expectExit(0)

    // One order: the snapshot stands at its seq among the replayed stocks, then all goes live.
    const seen = [...first.events(), ...client.events()]
    const seqs = seen.map((e) => e.seq as number)
    expect(seqs.findIndex((seq, i) => i > 0 && !(seq > seqs[i - 1]!))).toBe(-1)
    const copy = (e: Received) => `${e.seq} ${e.channel}`
    const on = (events: Received[], channel: string) => events.filter((e) => e.channel === channel)
    expect(on(seen, 'events:indicators').map(copy)).toEqual(
      on(watcher.events(), 'events:indicators').map(copy),
    )
    expect(on(seen, 'events:tasks').map((e) => e.seq)).toEqual([
      snapshot!.seq,
      ...on(watcher.events(), 'events:tasks')
        .map((e) => e.seq)
        .filter((seq) => (seq as number) > (snapshot!.seq as number)),
    ])
  })

  it('gives a client joining at ~50 % the current progress before anything live', async () => {
    await gateway('half')
    const watcher = await open('?channels=events:tasks')
    // 2,000 stocks at 250 a second: 8 s, the late client joins after about 4.
    const job = startJob(2_000, 250)
    await until(
      () => watcher.events().some((e) => (e.processed as number) >= 1_000),
      'half of the job',
      20_000,
    )
    job.child.kill('SIGSTOP')
    const late = await open('?channels=events:tasks')
    expect(job.child.exitCode, 'the job was still running when the late client joined').toBeNull()
    job.child.kill('SIGCONT')
    const [connected, current, ack] = late.received
    expect(connected?.type).toBe('connected')
    expect(current).toMatchObject({
      event_type: 'task.progress',
      task_id: 'calc_half',
      status: 'running',
    })
    expect(current).not.toHaveProperty('position')
    expect(current?.processed).toBeGreaterThanOrEqual(1_000)
    expect(ack).toEqual({
      type: 'subscribed',
      results: [{ channel: 'events:tasks', ok: true, position: expect.any(String) }],
    })
    await late.next((m) => m.event_type === 'task.completed', 15_000)
    await job.expectExit(0)
    // Live from the ack's position on: the snapshot is the progress just before the first live one.
    const live = late.received.slice(3)
    expect(live.every((e) => isEvent(e) && e.position !== undefined)).toBe(true)
    const watched = watcher.events()
    const next = watched.findIndex((e) => e.position === live[0]?.position)
    expect(watched.slice(next)).toEqual(live)
    expect(watched[next - 1]?.position).toBe(ackPosition(ack))
    // The snapshot is the stored event, on its channel: the same seq, without a position.
    const { position: _, ...snapshotted } = watched[next - 1]!
    expect(snapshotted).toEqual(current)
  })

  it('re-runs the replay for a channel subscribed again with `since`', async () => {
    await gateway('again')
    const client = await open('?channels=events:indicators')
    const job = startJob(30)
    await job.expectExit(0)
    await until(() => client.events().length === 30, 'the 30 stocks')
    const stocks = client.events().map((e) => e.stock_code)
    client.send({
      type: 'subscribe',
      id: 2,
      channels: ['events:indicators'],
      since: { 'events:indicators': client.events()[9]!.position as string },
    })
    const ack = await client.next((m) => m.id === 2)
    expect(ack.results).toEqual([
      { channel: 'events:indicators', ok: true, recovered: true, position: expect.any(String) },
    ])
    const again = client.events().slice(30)
    expect(again.map((e) => e.stock_code)).toEqual(stocks.slice(10))
    expect(client.received.indexOf(ack)).toBe(client.received.length - 1)
    expect(test!.gateway.stats().channels).toEqual({ 'events:indicators': 1 })
  })

  it('replays to a client that resumes while a restarted gateway is still connecting to Redis', async () => {
    await gateway('early')
    await startJob(30).expectExit(0)
    const { first } = await streamEnds('early:', 'events:indicators')
    await test!.close()
    // Redis answers no command for 3 s: the next gateway listens before its bridge is ready,
    // which is where a browser reconnecting after a deploy lands.
    const pause = createClient({ url: shared.redis.url })
    await pause.connect()
    await pause.sendCommand(['CLIENT', 'PAUSE', '3000', 'ALL'])
    pause.destroy()
    test = await startGateway({ REDIS_URL: shared.redis.url, KEY_PREFIX: 'early:' })
    const bridgeWhenAsked = test.bridge.state
    const { ack, before } = await resume({ 'events:indicators': first }, ['events:indicators'])
    expect(bridgeWhenAsked).toBe('connecting')
    expect(ack.results).toMatchObject([{ channel: 'events:indicators', recovered: true }])
    const replayed = before.filter(isEvent)
    expect(replayed).toHaveLength(29)
    expect(new Set(replayed.map((e) => e.stock_code)).size).toBe(29)
  })

  it('replays to a dozen clients resuming at once, a few at a time', async () => {
    await gateway('crowd')
    const job = startJob(40)
    await job.expectExit(0)
    const { first } = await streamEnds('crowd:', 'events:indicators')
    const crowd = await Promise.all(
      Array.from({ length: 12 }, () =>
        resume({ 'events:indicators': first }, ['events:indicators']),
      ),
    )
    for (const { ack, before } of crowd) {
      expect(ack.results).toMatchObject([{ recovered: true }])
      expect(before).toHaveLength(39)
      expect(new Set(before.map((e) => e.position)).size).toBe(39)
    }
  })

  it('answers positions it cannot replay with recovered: false and, for task channels, a snapshot', async () => {
    await gateway('far', { HISTORY_REPLAY_LIMIT: '20' })
    const job = startJob(30)
    await job.expectExit(0)
    const { epoch, first, last } = await streamEnds('far:', 'events:indicators')
    const at = (id: string) => `${epoch}:${id}`
    const { ack, before } = await resume(
      {
        'events:indicators': first, // 29 events after it: over the limit of 20
        'events:tasks': 'otherepoch:1-0',
        'events:task:calc_far': at('0-1'), // older than the stream's first entry
        'events:system': at('1-0'), // no such stream
      },
      ['events:indicators', 'events:tasks', 'events:task:calc_far', 'events:system'],
    )
    expect(ack.results).toEqual([
      { channel: 'events:indicators', ok: true, recovered: false, position: last },
      { channel: 'events:tasks', ok: true, recovered: false, position: expect.any(String) },
      { channel: 'events:task:calc_far', ok: true, recovered: false, position: expect.any(String) },
      { channel: 'events:system', ok: true, recovered: false },
    ])
    // The task is over, so there is no running task to show.
    expect(before).toEqual([])
    expect(test!.gateway.stats().resumes).toEqual({
      recovered: 0,
      unrecovered: 4,
      running: 0,
      waiting: 0,
    })
  })

  it('treats ?channels= (present, empty) as no channel at all', async () => {
    await gateway('none')
    const client = await open('?channels=')
    expect(client.received).toEqual([
      expect.objectContaining({ type: 'connected' }),
      { type: 'subscribed', results: [] },
    ])
    expect(test!.gateway.stats().channels).toEqual({})
    expect(await shared.publisher.publish('events:tasks', '{}')).toBe(0)
  })
})

describe('resume after Redis lost its data', () => {
  let redis: RedisServer
  afterEach(() => redis.stop())

  it('says recovered: false with a snapshot of the running task, then an empty one once it is done', async () => {
    redis = await startRedisServer()
    await gateway('lost', {}, redis.url)
    const first = await open('?channels=events:tasks,events:indicators')
    // 4,000 stocks at 400 a second: 10 s, Redis is back and the client resumes well before.
    const job = startJob(4_000, 400)
    await until(() => stocksOf(first) >= 500, '500 stocks live', 20_000)
    await redis.kill()
    await first.next((m) => m.code === 'bridge_down')
    await first.close()
    const since = lastPositions(first.events())
    await redis.start()
    await untilReady(test!)
    const reader = createClient({ url: redis.url })
    await reader.connect()
    await until(
      async () => (await reader.hGet(historyKeys('lost:').tasks, 'calc_lost')) !== null,
      'the running task back in the task state',
      10_000,
    )
    await reader.close()

    job.child.kill('SIGSTOP')
    const running = await resume(since)
    expect(job.child.exitCode, 'the job was still running when the client resumed').toBeNull()
    job.child.kill('SIGCONT')
    expect(running.ack.results).toEqual(
      JOB_CHANNELS.map((channel) => ({
        channel,
        ok: true,
        recovered: false,
        position: expect.any(String),
      })),
    )
    const [snapshot, ...rest] = running.before
    expect(rest).toEqual([])
    expect(snapshot).toMatchObject({ event_type: 'task.progress', task_id: 'calc_lost' })
    expect(snapshot).not.toHaveProperty('position')
    const newEpoch = parsePosition(ackPosition(running.ack) ?? '')?.epoch
    expect(newEpoch).toMatch(/^[a-z0-9]+$/)
    expect(newEpoch).not.toBe(parsePosition(since['events:tasks']!)?.epoch)

    await job.expectExit(0)
    const done = await resume(since)
    expect(done.ack.results).toEqual(
      JOB_CHANNELS.map((channel) => ({
        channel,
        ok: true,
        recovered: false,
        position: expect.any(String),
      })),
    )
    expect(done.before).toEqual([])
  })
})
