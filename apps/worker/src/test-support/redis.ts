import { pino } from 'pino'
import { afterAll, beforeAll, expect } from 'vitest'
import { createRedisClient, type RedisClient, waitForRedis } from '../redis.js'

/**
 * A client of the Redis every engineer's tests share (127.0.0.1:6379, never flushed) for the
 * enclosing `describe`, connected before its tests; after them, every key under `prefix` is deleted.
 */
export function useSharedRedis(prefix: string): () => RedisClient {
  let redis: RedisClient
  beforeAll(async () => {
    redis = createRedisClient('redis://127.0.0.1:6379', pino({ level: 'silent' }))
    redis.connect().catch(() => {})
    expect(await waitForRedis(redis, 5_000)).toBe(true)
  })
  afterAll(async () => {
    await dropKeys(redis, prefix)
    redis.destroy()
  })
  return () => redis
}

/** Deletes every key under `prefix` (a test's own prefix: the shared Redis is never flushed). */
export async function dropKeys(client: RedisClient, prefix: string): Promise<void> {
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 10_000 })) {
    if (keys.length > 0) await client.unlink(keys)
  }
}
