import { fileURLToPath } from 'node:url'
import {
  freePort,
  type NodeProcess,
  type RedisServer,
  startNode,
  startRedisServer,
  until,
} from '@stockpulse/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Received,
  startGateway,
  TestClient,
  type TestGateway,
} from './test-support/gateway.js'
import { lastPositions, runWorkerJob } from './test-support/worker-job.js'

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const CHANNELS = ['events:tasks', 'events:indicators']
const STOCKS = 1_000
/** 1,000 stocks, 101 progress events (every 10 stocks and at the start), the completion. */
const TOTAL = STOCKS + 101 + 1
const SCHEDULES = 50
const SEED = Number(process.env.STOCKPULSE_SEED ?? 20_261_129)

/** One event as a client saw it: which event (`seq`), on which channel. */
const copy = (event: Received) => `${event.seq} ${event.channel}`

/** A client that leaves and comes back (or is cut off), resuming from its last positions. */
class Roamer {
  readonly sessions: TestClient[] = []
  present = false

  constructor(
    readonly leaveAt: number,
    /** Events the reference saw before it comes back; Infinity: after the job ended. */
    readonly backAt: number,
  ) {}

  events(): Received[] {
    return this.sessions.flatMap((session) => session.events())
  }

  async join(url: string): Promise<void> {
    const session = new TestClient(`${url}?channels=`)
    this.sessions.push(session)
    await session.next((m) => m.type === 'subscribed')
    const since = lastPositions(this.events())
    session.send({ type: 'subscribe', id: 'join', channels: CHANNELS, since })
    const ack = await session.next((m) => m.id === 'join', 20_000)
    if (this.sessions.length > 1) {
      expect(ack.results).toMatchObject(CHANNELS.map((channel) => ({ channel, recovered: true })))
    }
    this.present = true
  }

  async leave(): Promise<void> {
    this.present = false
    await this.sessions.at(-1)?.close()
  }
}

/** Mulberry32: the same schedules for the same seed. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

describe('resume order (property)', () => {
  let redis: RedisServer
  let reference: TestGateway
  beforeAll(async () => {
    redis = await startRedisServer()
    reference = await startGateway({ REDIS_URL: redis.url, KEY_PREFIX: 'order:' })
  })
  afterAll(async () => {
    await reference.close()
    await redis.stop()
  })

  it(`${SCHEDULES} random leave/return schedules with gateway restarts each see exactly what a never-disconnected client saw (seed ${SEED})`, async () => {
    const next = random(SEED)
    const roamers = Array.from({ length: SCHEDULES }, () => {
      const leaveAt = Math.floor(next() * TOTAL)
      const backAt =
        next() < 0.3
          ? Number.POSITIVE_INFINITY
          : leaveAt + 1 + Math.floor(next() * (TOTAL - leaveAt))
      return new Roamer(leaveAt, backAt)
    })
    const restarts = [0, 1, 2].map(() => Math.floor(next() * TOTAL)).sort((a, b) => a - b)

    const port = await freePort()
    const url = `ws://127.0.0.1:${port}/ws/events`
    const env = {
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: redis.url,
      KEY_PREFIX: 'order:',
    }
    const startRoaming = async () => {
      const started = startNode(main, [], { env: { PATH: process.env.PATH, ...env } })
      await until(
        async () =>
          (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200,
        'the roaming gateway to be healthy',
        20_000,
      )
      return started
    }
    let roaming: NodeProcess = await startRoaming()
    const watcher = await TestClient.open(reference.wsUrl(`?channels=${CHANNELS.join(',')}`))
    await Promise.all(roamers.map((roamer) => roamer.join(url)))

    const job = runWorkerJob({
      redisUrl: redis.url,
      keyPrefix: 'order:',
      taskId: 'calc_order',
      stocks: STOCKS,
      pace: 300,
    })
    try {
      let ended = false
      void job.exited.then(() => {
        ended = true
      })
      let seen = -1
      while (!ended) {
        await until(
          () => ended || watcher.events().length > seen,
          'the next event on the reference gateway',
          20_000,
        )
        seen = watcher.events().length
        if (restarts[0] !== undefined && restarts[0] <= seen) {
          restarts.shift()
          roaming.kill('SIGKILL')
          await roaming.exited
          const cut = roamers.filter((roamer) => roamer.present)
          await Promise.all(cut.map((roamer) => roamer.sessions.at(-1)!.closed))
          roaming = await startRoaming()
          await Promise.all(cut.map((roamer) => roamer.join(url)))
        }
        await Promise.all(
          roamers.map((roamer) => {
            if (roamer.present && roamer.leaveAt <= seen && roamer.sessions.length === 1) {
              return roamer.leave()
            }
            if (!roamer.present && roamer.backAt <= seen) return roamer.join(url)
            return undefined
          }),
        )
      }
      await job.expectExit(0)
      await until(() => watcher.events().length === TOTAL, 'the whole job on the reference')
      await Promise.all(roamers.map((roamer) => (roamer.present ? undefined : roamer.join(url))))
      await until(
        () => roamers.every((roamer) => roamer.events().length >= TOTAL),
        'every roamer to have the whole job',
        30_000,
      )

      const expected = watcher.events().map(copy)
      expect(new Set(expected.map((c) => c.split(' ')[0])).size).toBe(TOTAL)
      for (const [i, roamer] of roamers.entries()) {
        expect(
          roamer.events().map(copy),
          `schedule ${i}: leave at ${roamer.leaveAt}, back at ${roamer.backAt}, seed ${SEED}`,
        ).toEqual(expected)
      }
    } finally {
      job.kill('SIGKILL')
      await Promise.all(roamers.flatMap((roamer) => roamer.sessions.map((s) => s.close())))
      await watcher.close()
      roaming.kill('SIGKILL')
    }
  })
})
