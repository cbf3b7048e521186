import { startRedisServer } from '@stockpulse/testing'
import { pino } from 'pino'
import { createClient } from 'redis'
import { describe, expect, it } from 'vitest'
import { createRedisBus, createRedisClient, redactUrl, waitForRedis } from './redis.js'

const logger = pino({ level: 'silent' })

describe('redis', () => {
  it('delivers bus subscriptions made before the connection, and again after a restart', async () => {
    const server = await startRedisServer()
    const client = createRedisClient(server.url, logger)
    client.connect().catch(() => {})
    const bus = createRedisBus(client)
    const got: string[] = []
    bus.subscribe('commands:worker', (message, channel) => got.push(`${channel} ${message}`))
    const sender = createClient({ url: server.url })
    sender.on('error', () => {})
    try {
      await waitForRedis(client, 5_000)
      await sender.connect()
      const deliver = async (message: string) => {
        const deadline = Date.now() + 8_000
        while (!got.includes(`commands:worker ${message}`)) {
          if (Date.now() > deadline) throw new Error(`${message} never arrived`)
          await sender.publish('commands:worker', message).catch(() => {})
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      }
      await deliver('one')
      await server.kill()
      await server.start()
      await deliver('two')
      expect(await bus.publish('events:system', 'x')).toBe(0)
    } finally {
      sender.destroy()
      bus.close()
      client.destroy()
      await server.stop()
    }
  })

  it('waits for Redis no longer than the grace, nor past the first refusal', async () => {
    const client = createRedisClient('redis://127.0.0.1:1', logger)
    client.connect().catch(() => {})
    const started = Date.now()
    expect(await waitForRedis(client, 5_000)).toBe(false)
    expect(Date.now() - started).toBeLessThan(1_000)
    client.destroy()
  })

  it('hides the password in logged URLs', () => {
    expect(redactUrl('redis://user:secret@cache:6379/0')).toBe('redis://user:***@cache:6379/0')
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379')
  })
})
