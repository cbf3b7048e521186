import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { CloseCode } from '@stockpulse/events'
import { freePort, type RedisServer, startRedisServer } from '@stockpulse/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestClient, until } from './test-support.js'

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

describe('main (the built stockpulse-gateway)', () => {
  it('closes clients with SHUTDOWN and exits 0 within 5 s of SIGTERM', async () => {
    const port = await freePort()
    const { child, output } = start({ PORT: String(port), HOST: '127.0.0.1', REDIS_URL: redis.url })
    try {
      await until(
        async () => {
          const health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined)
          return health?.status === 200
        },
        'the gateway to be healthy',
        10_000,
      )
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

  it('exits 2 naming the bad variable', async () => {
    const { child, output } = start({ PORT: 'eighty' })
    const [code] = await once(child, 'exit')
    expect(code).toBe(2)
    expect(output()).toBe(
      'stockpulse-gateway: PORT must be an integer from 0 to 65535, got "eighty"\n',
    )
  })
})
