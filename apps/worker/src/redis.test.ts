import { once } from 'node:events'
import { type AddressInfo, createServer } from 'node:net'
import { connectInBackground } from '@stockpulse/lifecycle'
import { freePort, startRedisServer, until } from '@stockpulse/testing'
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
      // Published again until heard: the subscription may not be back yet.
      const deliver = (message: string) =>
        until(
          async () => {
            await sender.publish('commands:worker', message).catch(() => {})
            return got.includes(`commands:worker ${message}`)
          },
          `${message} to reach the bus subscriber`,
          20_000,
        )
      await deliver('one')
      await server.kill()
      await server.start()
      await deliver('two')
      expect(await bus.publish('events:system', 'x')).toBe(0)
    } finally {
      sender.destroy()
      await bus.close()
      client.destroy()
      await server.stop()
    }
  })

  // A grace of ten minutes: the test's own timeout fails it if the wait outlived the event.
  it('stops waiting for Redis at the first refusal', async () => {
    const client = createRedisClient(`redis://127.0.0.1:${await freePort()}`, logger)
    const connection = connectInBackground(client)
    expect(await waitForRedis(client, 600_000)).toBe(false)
    await connection.close()
  })

  it('stops waiting for Redis when the signal aborts', async () => {
    // Accepts connections and never answers: the client stays mid-handshake.
    const silent = createServer(() => {}).listen(0, '127.0.0.1')
    await once(silent, 'listening')
    const port = (silent.address() as AddressInfo).port
    const client = createRedisClient(`redis://127.0.0.1:${port}`, logger)
    const connection = connectInBackground(client)
    const stop = new AbortController()
    const waited = waitForRedis(client, 600_000, stop.signal)
    stop.abort('SIGTERM')
    expect(await waited).toBe(false)
    await connection.close()
    silent.close()
  })

  it('hides the password in logged URLs', () => {
    expect(redactUrl('redis://user:secret@cache:6379/0')).toBe('redis://user:***@cache:6379/0')
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379')
  })
})
