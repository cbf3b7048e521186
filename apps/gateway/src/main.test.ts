import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { CloseCode } from '@stockpulse/events'
import { freePort, type RedisServer, startRedisServer, until } from '@stockpulse/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { expectWholeJob, lastPositions, runWorkerJob, TestClient } from './test-support.js'

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url))

let redis: RedisServer
beforeAll(async () => {
  redis = await startRedisServer()
})
afterAll(() => redis.stop())

function start(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (data) => {
    output += data
  })
  child.stderr?.on('data', (data) => {
    output += data
  })
  return { child, output: () => output }
}

async function untilHealthy(port: number): Promise<void> {
  await until(
    async () => {
      const health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined)
      return health?.status === 200
    },
    'the gateway to be healthy',
    10_000,
  )
}

describe('main (the built stockpulse-gateway)', () => {
  it('closes clients with SHUTDOWN and exits 0 within 5 s of SIGTERM', async () => {
    const port = await freePort()
    const { child, output } = start({ PORT: String(port), HOST: '127.0.0.1', REDIS_URL: redis.url })
    try {
      await untilHealthy(port)
      const clients = await Promise.all(
        [1, 2, 3].map(() => TestClient.open(`ws://127.0.0.1:${port}/ws/events`)),
      )
      const signalled = Date.now()
      child.kill('SIGTERM')
      const [code] = await once(child, 'exit')
      expect(Date.now() - signalled).toBeLessThan(5_000)
      expect(code).toBe(0)
      for (const client of clients) {
        expect(await client.closed).toEqual({
          code: CloseCode.SHUTDOWN,
          reason: 'server shutting down',
        })
      }
      const logs = output()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).msg)
      expect(logs).toContain('shutting down')
    } finally {
      child.kill('SIGKILL')
    }
  })

  it('lets a client resume every event after the gateway is killed and restarted mid-job', async () => {
    const port = await freePort()
    const env = { PORT: String(port), HOST: '127.0.0.1', REDIS_URL: redis.url, KEY_PREFIX: 'kill:' }
    const url = `ws://127.0.0.1:${port}/ws/events`
    let gateway = start(env).child
    try {
      await untilHealthy(port)
      const first = await TestClient.open(`${url}?channels=events:tasks,events:indicators`)
      const job = runWorkerJob({
        redisUrl: redis.url,
        keyPrefix: 'kill:',
        taskId: 'calc_kill',
        stocks: 5_000,
        pace: 1_250,
      })
      await until(() => first.events().length >= 1_000, '1,000 events live', 15_000)
      gateway.kill('SIGKILL')
      expect((await first.closed).code).toBe(1006)
      await sleep(1_000)
      gateway = start(env).child
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
      await second.next((m) => m.event_type === 'task.completed', 20_000)
      expect(await job.exited).toBe(0)
      const all = [...first.events(), ...second.events()]
      expect(all).toHaveLength(5_102)
      expectWholeJob(all, 5_000)
      await second.close()
    } finally {
      gateway.kill('SIGKILL')
    }
  })

  it('exits 2 naming the bad variable', async () => {
    const { child, output } = start({ PORT: 'eighty' })
    const [code] = await once(child, 'exit')
    expect(code).toBe(2)
    expect(output()).toBe(
      'stockpulse-gateway: PORT must be an integer from 0 to 65535, got "eighty"\n',
    )
  })
})
