import { fileURLToPath } from 'node:url'
import {
  freePort,
  type NodeProcess,
  type RedisServer,
  startNode,
  startRedisServer,
  until,
} from '@stockpulse/testing'
import { syntheticCodes } from '@stockpulse/worker'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Received, TestClient } from '../../src/test-support/gateway.js'
import { expectWholeJob, lastPositions, WORKER_MAIN } from '../../src/test-support/worker-job.js'

const gatewayMain = fileURLToPath(new URL('../../dist/main.js', import.meta.url))
const CHANNELS = '?channels=events:tasks,events:indicators'

// One run over several `stockpulse-worker serve` processes and gateways, all built CLIs, on a
// private redis-server (the event channels are global, and each test counts every event).
describe('fleet: one run over three serve workers and two gateways', () => {
  let redis: RedisServer
  let processes: NodeProcess[] = []
  beforeAll(async () => {
    redis = await startRedisServer()
  })
  afterEach(async () => {
    await Promise.all(processes.map((child) => child.stop()))
    processes = []
  })
  afterAll(() => redis.stop())

  const serve = (prefix: string, id: string, extra: readonly string[] = []) => {
    const child = startNode(
      WORKER_MAIN,
      [
        ...['serve', '--redis', redis.url, '--key-prefix', prefix, '--instance-id', id],
        ...['--concurrency', '1', '--cache-ttl', '0', '--heartbeat', '1', '--log-level', 'info'],
        ...extra,
      ],
      { env: { PATH: process.env.PATH } },
    )
    processes.push(child)
    return child
  }
  const gateway = async (prefix: string) => {
    const port = await freePort()
    const child = startNode(gatewayMain, [], {
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        HOST: '127.0.0.1',
        REDIS_URL: redis.url,
        KEY_PREFIX: prefix,
        LOG_LEVEL: 'info',
      },
    })
    processes.push(child)
    await until(
      async () =>
        (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200,
      'the gateway to be healthy',
      20_000,
    )
    return { port, url: (path: string) => `http://127.0.0.1:${port}${path}` }
  }
  const post = async (url: string, body: unknown) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    return { status: response.status, body: await response.json() }
  }
  const ofTask = (events: readonly Received[], taskId: string) =>
    events.filter((event) => event.task_id === taskId)
  const completed = (client: TestClient, taskId: string) =>
    ofTask(client.events(), taskId).some((event) => event.event_type === 'task.completed')

  it('delivers exactly 5,102 events of a 5,000-stock run on each gateway, task.completed last', async () => {
    const workers = ['w1', 'w2', 'w3'].map((id) => serve('fleet1:', id))
    await Promise.all(workers.map((w) => w.waitFor('"msg":"worker serving"', 'a worker serving')))
    const [a, b] = await Promise.all([gateway('fleet1:'), gateway('fleet1:')])
    const onA = await TestClient.open(`ws://127.0.0.1:${a.port}/ws/events${CHANNELS}`)
    const onB = await TestClient.open(`ws://127.0.0.1:${b.port}/ws/events${CHANNELS}`)
    const mover = await TestClient.open(`ws://127.0.0.1:${a.port}/ws/events${CHANNELS}`)

    expect(
      await post(a.url('/api/runs'), { stocks: 5_000, days: 250, task_id: 'fleet_a' }),
    ).toEqual({
      status: 202,
      body: { task_id: 'fleet_a' },
    })
    expect(await post(b.url('/api/runs'), { stocks: 10 })).toMatchObject({
      status: 409,
      body: { error: 'run_in_progress' },
    })
    // A client that leaves gateway A mid-run resumes on gateway B.
    await until(
      () => ofTask(mover.events(), 'fleet_a').length >= 1_000,
      '1,000 events on A',
      30_000,
    )
    await mover.close()
    const moved = await TestClient.open(`ws://127.0.0.1:${b.port}/ws/events?channels=`)
    moved.send({
      type: 'subscribe',
      channels: ['events:tasks', 'events:indicators'],
      since: lastPositions(mover.events()),
    })

    for (const client of [onA, onB, moved]) {
      await until(() => completed(client, 'fleet_a'), 'task.completed of fleet_a', 60_000)
    }
    for (const client of [onA, onB]) {
      const events = ofTask(client.events(), 'fleet_a')
      expect(events).toHaveLength(5_102)
      expectWholeJob(events, 5_000)
      expect(events.at(-1)).toMatchObject({ event_type: 'task.completed', status: 'completed' })
      expect(events.filter((e) => e.event_type === 'task.progress').at(-1)).toMatchObject({
        processed: 5_000,
        total: 5_000,
      })
    }
    const resumed = [...ofTask(mover.events(), 'fleet_a'), ...ofTask(moved.events(), 'fleet_a')]
    expectWholeJob(resumed, 5_000)

    // Every worker took chunks: 20 of 250 stocks between them, seen in GET /api/workers.
    let listed: { instance_id: string; chunks_done: number; threads: number; host: string }[] = []
    await until(
      async () => {
        listed = ((await (await fetch(b.url('/api/workers'))).json()) as { workers: typeof listed })
          .workers
        return listed.reduce((sum, worker) => sum + worker.chunks_done, 0) === 20
      },
      'GET /api/workers to count the 20 chunks',
      20_000,
    )
    expect(listed.map((worker) => worker.instance_id)).toEqual(['w1', 'w2', 'w3'])
    expect(listed.filter((worker) => worker.chunks_done > 0).length).toBeGreaterThanOrEqual(2)
    expect(await (await fetch(a.url('/api/schedule'))).json()).toMatchObject({
      cron: '30 16 * * 1-5',
      tz: 'Asia/Shanghai',
      next_run_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    })
    expect(await post(a.url('/api/runs/fleet_a/cancel'), {})).toMatchObject({
      status: 409,
      body: { error: 'run_finished' },
    })
  }, 120_000)

  it('completes a run whose worker is SIGKILLed at about 40 %, mid-chunk: each stock once, the chunk retried elsewhere', async () => {
    const workers = ['k1', 'k2', 'k3'].map((id) => serve('fleet2:', id, ['--stall-timeout', '2']))
    await Promise.all(workers.map((w) => w.waitFor('"msg":"worker serving"', 'a worker serving')))
    const a = await gateway('fleet2:')
    const client = await TestClient.open(`ws://127.0.0.1:${a.port}/ws/events${CHANNELS}`)
    // Submitted from the CLI, paced: a chunk is computed whole and then published, 250 stocks at
    // 150 a second on its worker, so the kill can land in the middle of a chunk's publishing.
    const submit = startNode(
      WORKER_MAIN,
      [
        ...['submit', '--redis', redis.url, '--key-prefix', 'fleet2:', '--task-id', 'fleet_k'],
        ...['--stocks', '5000', '--days', '2500', '--pace', '150'],
      ],
      { env: { PATH: process.env.PATH } },
    )
    await submit.expectExit(0)
    expect(submit.stdout).toBe('fleet_k\n')
    const stocks = () =>
      ofTask(client.events(), 'fleet_k').filter(
        (e) => e.event_type === 'stock.indicators.completed',
      )
    await until(() => stocks().length >= 2_000, '40 % of the stocks', 60_000)
    // The victim: a worker in the middle of a chunk, some of its stocks published and some not,
    // so the chunk's retry must skip exactly the published ones. Chunks are 250 stocks of the
    // synthetic universe in order, `fleet_k#<index>` in the heartbeat.
    const universe = syntheticCodes(5_000)
    let victim: NodeProcess | undefined
    let publishedOfChunk = 0
    await until(
      async () => {
        const { workers: listed } = (await (await fetch(a.url('/api/workers'))).json()) as {
          workers: { instance_id: string; current_chunk?: string }[]
        }
        const seen = new Set(stocks().map((e) => e.stock_code))
        for (const worker of listed) {
          const index = Number(worker.current_chunk?.match(/^fleet_k#(\d+)$/)?.[1] ?? Number.NaN)
          if (!Number.isInteger(index)) continue
          const chunk = universe.slice(index * 250, index * 250 + 250)
          publishedOfChunk = chunk.filter((code) => seen.has(code)).length
          if (publishedOfChunk > 0 && publishedOfChunk < 200) {
            victim = workers[['k1', 'k2', 'k3'].indexOf(worker.instance_id)]
            return true
          }
        }
        return false
      },
      'a worker part-way through a chunk of fleet_k (some of its stocks published)',
      30_000,
    )
    const killedAt = Date.now()
    victim!.kill('SIGKILL')
    const survivors = workers.filter((worker) => worker !== victim)
    await until(() => completed(client, 'fleet_k'), 'task.completed of fleet_k', 90_000)
    const events = ofTask(client.events(), 'fleet_k')
    const codes = stocks().map((e) => e.stock_code)
    expect(new Set(codes).size).toBe(5_000)
    expect(codes).toHaveLength(5_000)
    expectWholeJob(events, 5_000)
    expect(events).toHaveLength(5_102)
    // A loaded machine can make a live worker miss its lock too (taken over, never published
    // twice): the victim's takeover is the first one after the kill.
    const stalled = survivors
      .flatMap((worker) => worker.stderr.trim().split('\n'))
      .map((line) => JSON.parse(line) as { msg: string; time: string })
      .filter((log) => log.msg === 'job stalled: its worker went silent; taken over')
      .map((log) => Date.parse(log.time))
      .filter((time) => time >= killedAt)
      .sort((a, b) => a - b)
    expect(stalled.length, 'a survivor took the chunk over').toBeGreaterThanOrEqual(1)
    const detectedMs = stalled[0]! - killedAt
    process.stdout.write(
      `fleet: stall detected ${detectedMs} ms after SIGKILL (--stall-timeout 2), ${publishedOfChunk} of the chunk's 250 stocks published before the kill\n`,
    )
    expect(detectedMs).toBeLessThan(10_000)
  }, 180_000)

  it('fires the schedule once per tick whatever the number of workers', async () => {
    const workers = ['s1', 's2', 's3'].map((id) =>
      serve('fleet3:', id, ['--schedule', '* * * * * *', '--time-zone', 'UTC', '--stocks', '5']),
    )
    // Scheduled runs get the tick in their id (calc_<tick>_schedule): a tick queued twice admits
    // one run, so each tick shows once as submitted or skipped, over all the workers.
    const ticks = () => {
      const seen = new Map<number, number>()
      for (const worker of workers) {
        // Whole lines only: the last one may still be arriving.
        for (const line of worker.stderr.split('\n').slice(0, -1)) {
          const log = JSON.parse(line) as { msg: string; tick?: number }
          // A tick is submitted (a run admitted) or skipped (the previous run still runs).
          if (log.tick === undefined || log.msg === 'scheduled run already submitted') continue
          seen.set(log.tick, (seen.get(log.tick) ?? 0) + 1)
        }
      }
      return seen
    }
    await until(() => ticks().size >= 4, 'four ticks of the per-second schedule', 30_000)
    for (const [tick, count] of ticks()) {
      expect(count, `tick ${new Date(tick).toISOString()}`).toBe(1)
      expect(tick % 1_000).toBe(0)
    }
  }, 60_000)
})
