import { DEFAULT_KEY_PREFIX } from '@stockpulse/events'
import {
  BAR_COLUMNS,
  barsTableNames,
  DEFAULT_BARS_TABLE,
  DEFAULT_VALUES_TABLE,
  tableName,
} from './database-names.js'
import { accepts, option } from './option.js'
import { defineOptions } from './spec.js'

/** pino's levels, most severe first; `silent` logs nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

const IDENTIFIER_TEXT = 'lower-case a-z, 0-9 and _, not starting with a digit, at most 63 long'
const TABLE_TEXT = `name or schema.name, each ${IDENTIFIER_TEXT}`

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
  barsTable: option.string({
    flag: 'bars-table',
    env: 'BARS_TABLE',
    formerEnv: 'WORKER_BARS_TABLE',
    default: DEFAULT_BARS_TABLE,
    valid: (text) => accepts(() => tableName(text)),
    expected: TABLE_TEXT,
    placeholder: 'TABLE',
    help: 'the bars table in PostgreSQL, [schema.]name',
  }),
  barsColumns: option.list({
    flag: 'bars-columns',
    env: 'BARS_COLUMNS',
    formerEnv: 'WORKER_BARS_COLUMNS',
    default: BAR_COLUMNS,
    valid: (names) => accepts(() => barsTableNames(DEFAULT_BARS_TABLE, names)),
    expected: `7 column names (${BAR_COLUMNS.join(',')}), each ${IDENTIFIER_TEXT}`,
    help: 'its code, date, open, high, low, close and volume columns',
  }),
  valuesTable: option.string({
    flag: 'values-table',
    env: 'VALUES_TABLE',
    formerEnv: 'WORKER_VALUES_TABLE',
    default: DEFAULT_VALUES_TABLE,
    valid: (text) => accepts(() => tableName(text)),
    expected: TABLE_TEXT,
    placeholder: 'TABLE',
    help: 'the indicator values table in PostgreSQL, [schema.]name (created by migrate)',
  }),
})

/** Whether `row` is one of the shared settings (listed once, in the root README's shared table). */
export function isShared(row: unknown): boolean {
  return Object.values(SHARED_OPTIONS).some((shared) => shared === row)
}
