import { indicatorById } from '@stockpulse/indicators'
import { freePort } from '@stockpulse/testing'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache } from './cache.js'
import { createRedisClient, type RedisClient, waitForRedis } from './redis.js'
import { uniqueId } from './test-support/events.js'

const logger = pino({ level: 'silent' })

describe('cache', () => {
  let redis: RedisClient
  const prefix = `${uniqueId('cache')}:`
  beforeAll(async () => {
    redis = createRedisClient('redis://127.0.0.1:6379', logger)
    redis.connect().catch(() => {})
    await waitForRedis(redis, 5_000)
  })
  afterAll(() => {
    redis.destroy()
  })

  it('keys by stock, indicator, parameters and fingerprint', () => {
    const cache = createCache(redis, { prefix: 'p:', ttlSeconds: 60 })
    expect(cache.key('000001', indicatorById('MACD'), 'abcd')).toBe(
      'p:ind:000001:MACD:fast=12,slow=26,signal=9,talib:abcd',
    )
    expect(cache.key('600000', indicatorById('SMA_5'), 'ff')).toBe(
      'p:ind:600000:SMA_5:n=5,talib:ff',
    )
  })

  it('writes a batch with its TTL in one command and reads it back in order', async () => {
    const cache = createCache(redis, { prefix, ttlSeconds: 60 })
    const keys = [`${prefix}a`, `${prefix}b`, `${prefix}c`]
    cache.set([
      [keys[0]!, '{"sma":1}'],
      [keys[2]!, '{"sma":null}'],
    ])
    await cache.flush()
    expect(await cache.get(keys)).toEqual(['{"sma":1}', null, '{"sma":null}'])
    expect(await redis.ttl(keys[0]!)).toBeGreaterThan(55)
    expect(cache.failedWrites).toBe(0)
  })

  it('misses everything and counts failed writes while Redis is unreachable', async () => {
    const down = createRedisClient(`redis://127.0.0.1:${await freePort()}`, logger)
    down.connect().catch(() => {})
    const cache = createCache(down, { prefix, ttlSeconds: 60 })
    expect(await cache.get(['x', 'y'])).toEqual([null, null])
    cache.set([['x', '1']])
    await cache.flush()
    expect(cache.failedWrites).toBe(1)
    down.destroy()
  })
})
