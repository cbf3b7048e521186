import { historyKeys } from '@stockpulse/events'
import type { RedisClient } from './redis.js'
import { createWrites } from './writes.js'

export interface ResultStoreOptions {
  readonly prefix: string
  readonly ttlSeconds: number
}

/** A task's results in Redis: one hash per task, field = stock code, value = JSON. */
export interface ResultStore {
  /** `{prefix}results:{taskId}`: the contract's `historyKeys(prefix).results`, read by the gateway. */
  key(taskId: string): string
  /** Adds a batch of stocks (HSET + EXPIRE in one MULTI); not awaited by the job. */
  add(taskId: string, entries: readonly (readonly [code: string, json: string])[]): void
  flush(): Promise<void>
  readonly failedWrites: number
}

export function createResultStore(redis: RedisClient, options: ResultStoreOptions): ResultStore {
  const { prefix, ttlSeconds } = options
  const writes = createWrites()
  const key = historyKeys(prefix).results
  return {
    key,
    add(taskId, entries) {
      if (entries.length === 0) return
      const hash = key(taskId)
      writes.track(
        redis
          .multi()
          .hSet(hash, entries.flat() as string[])
          .expire(hash, ttlSeconds)
          .exec(),
      )
    },
    flush: () => writes.flush(),
    get failedWrites() {
      return writes.failed
    },
  }
}
