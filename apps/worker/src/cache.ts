import type { Indicator } from '@stockpulse/indicators'
import type { RedisClient } from './redis.js'
import { createWrites } from './writes.js'

export interface CacheOptions {
  /** Prepended to every key, e.g. `stockpulse:`. */
  readonly prefix: string
  readonly ttlSeconds: number
}

/** Latest indicator outputs in Redis, keyed by what determines them. */
export interface IndicatorCache {
  /** `{prefix}ind:{code}:{id}:{params}:{fingerprint}`. */
  key(code: string, indicator: Indicator, fingerprint: string): string
  /** The cached values of `keys`, in order, null where missing; all null while Redis is down. */
  get(keys: readonly string[]): Promise<(string | null)[]>
  /** Stores entries with the TTL in one round trip; not awaited by the job. */
  set(entries: readonly (readonly [key: string, value: string])[]): void
  /** Waits for the writes issued so far. */
  flush(): Promise<void>
  /** Writes that failed (Redis down). */
  readonly failedWrites: number
}

// SET every KEYS[i] to ARGV[i + 1] with EX ARGV[1]: a batch of writes with TTL in one command.
const SET_WITH_TTL = `for i, key in ipairs(KEYS) do redis.call('SET', key, ARGV[i + 1], 'EX', ARGV[1]) end`

/** A cache that reads a whole chunk with one MGET and writes it with one EVAL. */
export function createCache(redis: RedisClient, options: CacheOptions): IndicatorCache {
  const { prefix, ttlSeconds } = options
  const writes = createWrites()
  const paramsOf = new Map<Indicator, string>()
  const params = (indicator: Indicator) => {
    let text = paramsOf.get(indicator)
    if (text === undefined) {
      text = [
        ...Object.entries(indicator.params).map(([name, value]) => `${name}=${value}`),
        indicator.convention,
      ].join(',')
      paramsOf.set(indicator, text)
    }
    return text
  }

  return {
    key: (code, indicator, fingerprint) =>
      `${prefix}ind:${code}:${indicator.id}:${params(indicator)}:${fingerprint}`,
    async get(keys) {
      if (keys.length === 0) return []
      try {
        return await redis.mGet([...keys])
      } catch {
        return keys.map(() => null)
      }
    },
    set(entries) {
      if (entries.length === 0) return
      const keys = entries.map(([key]) => key)
      const values = entries.map(([, value]) => value)
      writes.track(redis.eval(SET_WITH_TTL, { keys, arguments: [String(ttlSeconds), ...values] }))
    },
    flush: () => writes.flush(),
    get failedWrites() {
      return writes.failed
    },
  }
}
