import { type RedisServer, startRedisServer } from '@stockpulse/testing'
import { createClient } from 'redis'
import { afterAll, beforeAll } from 'vitest'

export type Publisher = Awaited<ReturnType<typeof createPublisher>>

/** A private redis-server and a publisher for the test file, started before its tests. */
export function withRedis(): { readonly redis: RedisServer; readonly publisher: Publisher } {
  const context = {} as { redis: RedisServer; publisher: Publisher }
  beforeAll(async () => {
    context.redis = await startRedisServer()
    context.publisher = await createPublisher(context.redis.url)
  })
  afterAll(async () => {
    await context.publisher.close()
    await context.redis.stop()
  })
  return context
}

/** A separate node-redis client publishing like the worker. */
export async function createPublisher(url: string) {
  const client = createClient({ url })
  client.on('error', () => {})
  await client.connect()
  return {
    publish: (channel: string, message: unknown) =>
      client.publish(channel, typeof message === 'string' ? message : JSON.stringify(message)),
    close: () => client.close(),
  }
}
