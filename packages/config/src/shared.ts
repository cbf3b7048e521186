import { DEFAULT_KEY_PREFIX } from '@stockpulse/events'
import { option } from './option.js'
import { defineOptions } from './spec.js'

/** pino's levels, most severe first; `silent` logs nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/**
 * Settings every app reads the same way: same variable, default, range and meaning. Apps spread
 * them into their own spec (`{ ...SHARED_OPTIONS, port: option.integer(...) }`).
 */
export const SHARED_OPTIONS = defineOptions({
  redisUrl: option.url({
    flag: 'redis',
    env: 'REDIS_URL',
    protocols: ['redis', 'rediss'],
    default: 'redis://127.0.0.1:6379',
    help: 'Redis for Pub/Sub, history, task state, cache and results',
  }),
  logLevel: option.oneOf({
    flag: 'log-level',
    env: 'LOG_LEVEL',
    values: LOG_LEVELS,
    default: 'info',
    placeholder: 'LEVEL',
    help: 'pino log level; logs are JSON lines',
  }),
  keyPrefix: option.string({
    flag: 'key-prefix',
    env: 'KEY_PREFIX',
    default: DEFAULT_KEY_PREFIX,
    placeholder: 'PREFIX',
    help: 'prefix of every Redis key: history, task state, runs, cache, results',
  }),
  databaseUrl: option.url({
    flag: 'database-url',
    env: 'DATABASE_URL',
    protocols: ['postgres', 'postgresql'],
    help: "PostgreSQL: the worker's --source postgres, --sink postgres, migrate and seed-db; the gateway's stock page reads the stored values there",
  }),
})

/** Whether `row` is one of the shared settings (listed once, in the root README's shared table). */
export function isShared(row: unknown): boolean {
  return Object.values(SHARED_OPTIONS).some((shared) => shared === row)
}
