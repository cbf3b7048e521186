import { fileURLToPath } from 'node:url'
import { CloseCode, historyKeys } from '@stockpulse/events'
import {
  freePort,
  type NodeProcess,
  type RedisServer,
  startNode,
  startRedisServer,
  until,
} from '@stockpulse/testing'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestClient } from './test-support/gateway.js'
import { expectWholeJob, lastPositions, runWorkerJob } from './test-support/worker-job.js'

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url))

let redis: RedisServer
beforeAll(async () => {
  redis = await startRedisServer()
})
afterAll(() => redis.stop())

function start(env: Record<string, string>): NodeProcess {
  return startNode(main, [], { env: { PATH: process.env.PATH, LOG_LEVEL: 'info', ...env } })
}

async function untilHealthy(port: number): Promise<void> {
  await until(
    async () => {
      const health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined)
      return health?.status === 200
    },
    'the gateway to be healthy',
    20_000,
  )
}

const messages = (gateway: NodeProcess) =>
  gateway.stdout
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { msg: string }).msg)

describe('main (the built stockpulse-gateway)', () => {
  it('closes clients with SHUTDOWN and exits 0 within 5 s of SIGTERM', async () => {
    const port = await freePort()
    const gateway = start({ PORT: String(port), HOST: '127.0.0.1', REDIS_URL: redis.url })
    try {
      await untilHealthy(port)
      const clients = await Promise.all(
        [1, 2, 3].map(() => TestClient.open(`ws://127.0.0.1:${port}/ws/events`)),
      )
      gateway.kill('SIGTERM')
      await gateway.expectExit(0, 5_000)
      for (const client of clients) {
        expect(await client.closed).toEqual({
          code: CloseCode.SHUTDOWN,
          reason: 'server shutting down',
        })
      }
      expect(messages(gateway)).toEqual(expect.arrayContaining(['shutting down', 'stopped']))
    } finally {
      gateway.kill('SIGKILL')
    }
  })

  it('stops on SIGINT too, and at once on a second signal while stopping', async () => {
    const port = await freePort()
    const env = { PORT: String(port), HOST: '127.0.0.1', REDIS_URL: redis.url }
    const first = start(env)
    await first.waitFor('"msg":"listening"', 'the gateway to listen')
    first.kill('SIGINT')
    await first.expectExit(0)
    expect(messages(first)).toEqual(expect.arrayContaining(['shutting down', 'stopped']))

    const second = start(env)
    await untilHealthy(port)
    // A client that stops reading: the gateway waits for its close reply (1.5 s at most).
    const client = await TestClient.open(`ws://127.0.0.1:${port}/ws/events?channels=`)
    client.ws.pause()
    second.kill('SIGTERM')
    await second.waitFor('"msg":"shutting down"', 'the first stop')
    second.kill('SIGINT')
    await second.expectExit('SIGINT')
    expect(messages(second)).toContain('stopping again: exiting now')
    expect(messages(second)).not.toContain('stopped')
  })

  it('lets a client resume every event after the gateway is killed and restarted mid-job', async () => {
    const port = await freePort()
    const env = { PORT: String(port), HOST: '127.0.0.1', REDIS_URL: redis.url, KEY_PREFIX: 'kill:' }
    const url = `ws://127.0.0.1:${port}/ws/events`
    const stream = historyKeys('kill:').stream('events:indicators')
    const reader = createClient({ url: redis.url })
    await reader.connect()
    let gateway = start(env)
    let job: NodeProcess | undefined
    try {
      await untilHealthy(port)
      const first = await TestClient.open(`${url}?channels=events:tasks,events:indicators`)
      // 2,000 stocks at 200 a second: about 10 s, stopped while the gateway is away.
      job = runWorkerJob({
        redisUrl: redis.url,
        keyPrefix: 'kill:',
        taskId: 'calc_kill',
        stocks: 2_000,
        pace: 200,
      })
      await until(() => first.events().length >= 300, '300 events live', 20_000)
      gateway.kill('SIGKILL')
      expect((await first.closed).code).toBe(1006)
      const seen = first.events().length
      // Events the client misses while no gateway runs.
      await until(
        async () => (await reader.xLen(stream)) >= seen + 200,
        '200 more events published',
        20_000,
      )
      // Frozen until the client is back, so it resumes mid-job however slow the restart is.
      job.child.kill('SIGSTOP')
      gateway = start(env)
      await untilHealthy(port)

      const second = await TestClient.open(`${url}?channels=`)
      second.send({
        type: 'subscribe',
        channels: ['events:tasks', 'events:indicators'],
        since: lastPositions(first.events()),
      })
      const ack = await second.next((m) => m.type === 'subscribed' && m !== second.received[1])
      expect(job.child.exitCode, 'the job was still running when the client resumed').toBeNull()
      expect(ack.results).toMatchObject([
        { channel: 'events:tasks', recovered: true },
        { channel: 'events:indicators', recovered: true },
      ])
      job.child.kill('SIGCONT')
      await second.next((m) => m.event_type === 'task.completed', 30_000)
      await job.expectExit(0)
      const all = [...first.events(), ...second.events()]
      expectWholeJob(all, 2_000)
      await second.close()
    } finally {
      job?.kill('SIGKILL')
      gateway.kill('SIGKILL')
      await reader.close()
    }
  })

  it('lets a client resume every event, in order, when the gateway is back only after the job ended', async () => {
    const port = await freePort()
    const env = { PORT: String(port), HOST: '127.0.0.1', REDIS_URL: redis.url, KEY_PREFIX: 'late:' }
    const url = `ws://127.0.0.1:${port}/ws/events`
    let gateway = start(env)
    let job: NodeProcess | undefined
    try {
      await untilHealthy(port)
      const first = await TestClient.open(`${url}?channels=events:tasks,events:indicators`)
      job = runWorkerJob({
        redisUrl: redis.url,
        keyPrefix: 'late:',
        taskId: 'calc_late',
        stocks: 5_000,
        pace: 2_500,
      })
      await until(() => first.events().length >= 1_500, '30 % of the job live', 20_000)
      gateway.kill('SIGKILL')
      expect((await first.closed).code).toBe(1006)
      await job.expectExit(0)
      gateway = start(env)
      await untilHealthy(port)

      const second = await TestClient.open(`${url}?channels=`)
      second.send({
        type: 'subscribe',
        channels: ['events:tasks', 'events:indicators'],
        since: lastPositions(first.events()),
      })
      const ack = await second.next((m) => m.type === 'subscribed' && m !== second.received[1])
      expect(ack.results).toMatchObject([
        { channel: 'events:tasks', recovered: true },
        { channel: 'events:indicators', recovered: true },
      ])
      const all = [...first.events(), ...second.events()]
      expect(all).toHaveLength(5_102)
      expectWholeJob(all, 5_000)
      await second.close()
    } finally {
      job?.kill('SIGKILL')
      gateway.kill('SIGKILL')
    }
  })

  it('exits 2 naming the bad variable', async () => {
    const gateway = start({ PORT: 'eighty' })
    await gateway.expectExit(2)
    expect(gateway.stderr).toBe(
      'stockpulse-gateway: PORT must be an integer from 0 to 65535, got "eighty"\n',
    )
  })
})
