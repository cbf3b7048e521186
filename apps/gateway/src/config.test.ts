import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { readBlock } from '@stockpulse/config'
import { describe, expect, it } from 'vitest'
import { loadConfig } from './config.js'
import { ConfigError } from './errors.js'
import { README_BLOCKS } from './readme.js'

describe('config', () => {
  it('has a documented default for everything', () => {
    const config = loadConfig({})
    expect(config).toEqual({
      port: 8000,
      host: '0.0.0.0',
      redisUrl: 'redis://127.0.0.1:6379',
      auth: { kind: 'none' },
      heartbeatTimeoutMs: 60_000,
      sweepIntervalMs: 30_000,
      maxClientBufferBytes: 1_048_576,
      maxConnections: 10_000,
      maxPayloadBytes: 65_536,
      maxSubscriptionsPerConnection: 100,
      subscribeRate: 10,
      subscribeBurst: 20,
      maxQueuedSubscribes: 8,
      resumeDrainTimeoutMs: 10_000,
      maxHeldEvents: 10_000,
      maxEventBytes: 65_536,
      upgradeTimeoutMs: 10_000,
      allowedOrigins: undefined,
      staticDir: undefined,
      logLevel: 'info',
      keyPrefix: 'stockpulse:',
      staleTaskMs: 60_000,
      historyReplayLimit: 50_000,
      storedTables: {
        bars: {
          table: { text: 'daily_bars', sql: '"daily_bars"' },
          columns: expect.objectContaining({ stock_code: '"stock_code"', volume: '"volume"' }),
          columnNames: expect.objectContaining({ trade_date: 'trade_date' }),
        },
        values: { text: 'indicator_values', sql: '"indicator_values"' },
      },
    })
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.auth)).toBe(true)
  })

  it.each([
    [{ PORT: '0' }, { port: 0 }],
    [{ PORT: '' }, { port: 8000 }],
    [
      { PORT: ' 8080 ', HOST: '  ' },
      { port: 8080, host: '0.0.0.0' },
    ],
    [{ ALLOWED_ORIGINS: '*' }, { allowedOrigins: undefined }],
    [
      { HEARTBEAT_TIMEOUT_S: '0.5', SWEEP_INTERVAL_S: '0.1' },
      { heartbeatTimeoutMs: 500, sweepIntervalMs: 100 },
    ],
    [
      { ALLOWED_ORIGINS: 'https://app.example, http://localhost:5173' },
      { allowedOrigins: new Set(['https://app.example', 'http://localhost:5173']) },
    ],
    [
      { AUTH_JWT_SECRET: 's'.repeat(32) },
      { auth: { kind: 'secret', secret: 's'.repeat(32), issuer: undefined, audience: undefined } },
    ],
    [
      { AUTH_JWKS_URL: 'https://auth.example/.well-known/jwks.json', AUTH_AUDIENCE: 'stockpulse' },
      {
        auth: {
          kind: 'jwks',
          url: new URL('https://auth.example/.well-known/jwks.json'),
          issuer: undefined,
          audience: 'stockpulse',
        },
      },
    ],
    [
      { AUTH_JWT_SECRET: 's'.repeat(32), AUTH_ISSUER: 'https://auth.example/' },
      { auth: { kind: 'secret', issuer: 'https://auth.example/' } },
    ],
    [
      { SUBSCRIBE_RATE: '0.5', SUBSCRIBE_BURST: '3', MAX_QUEUED_SUBSCRIBES: '2' },
      { subscribeRate: 0.5, subscribeBurst: 3, maxQueuedSubscribes: 2 },
    ],
    [
      { RESUME_DRAIN_TIMEOUT_S: '0.5', MAX_HELD_EVENTS: '5', UPGRADE_TIMEOUT_S: '2' },
      { resumeDrainTimeoutMs: 500, maxHeldEvents: 5, upgradeTimeoutMs: 2_000 },
    ],
    [{ MAX_EVENT_BYTES: '1024' }, { maxEventBytes: 1024 }],
    [{ STATIC_DIR: tmpdir() }, { staticDir: tmpdir() }],
    [{ STATIC_DIR: '.' }, { staticDir: process.cwd() }],
    [
      { LOG_LEVEL: 'debug', REDIS_URL: 'rediss://cache:6380/2' },
      { logLevel: 'debug', redisUrl: 'rediss://cache:6380/2' },
    ],
    [
      {
        KEY_PREFIX: 'staging:',
        WORKER_KEY_PREFIX: 'gone:',
        STALE_TASK_S: '1.5',
        HISTORY_REPLAY_LIMIT: '10',
      },
      { keyPrefix: 'staging:', staleTaskMs: 1_500, historyReplayLimit: 10 },
    ],
    [
      { BARS_TABLE: 'market.bars', BARS_COLUMNS: 'code,day,o,h,l,c,v', VALUES_TABLE: 'v' },
      {
        storedTables: {
          bars: expect.objectContaining({
            table: { text: 'market.bars', sql: '"market"."bars"' },
            columns: expect.objectContaining({ stock_code: '"code"', close: '"c"' }),
          }),
          values: { text: 'v', sql: '"v"' },
        },
      },
    ],
  ])('reads %o', (env, expected) => {
    expect(loadConfig(env)).toMatchObject(expected)
  })

  it.each([
    [{ PORT: 'abc' }, 'PORT', 'PORT must be an integer from 0 to 65535, got "abc"'],
    [{ PORT: '70000' }, 'PORT', 'PORT must be an integer from 0 to 65535, got "70000"'],
    [{ PORT: '80.5' }, 'PORT', 'PORT must be an integer from 0 to 65535, got "80.5"'],
    [
      { MAX_CONNECTIONS: '0' },
      'MAX_CONNECTIONS',
      'MAX_CONNECTIONS must be an integer of at least 1, got "0"',
    ],
    [
      { AUTH_AUDIENCE: 'stockpulse' },
      'AUTH_AUDIENCE',
      'AUTH_AUDIENCE is set but auth is off; set AUTH_JWT_SECRET or AUTH_JWKS_URL too, or unset it.',
    ],
    [
      { SUBSCRIBE_RATE: '0' },
      'SUBSCRIBE_RATE',
      'SUBSCRIBE_RATE must be a positive number, got "0"',
    ],
    [
      { WORKER_VALUES_TABLE: 'market.values' },
      'WORKER_VALUES_TABLE',
      'WORKER_VALUES_TABLE is now VALUES_TABLE: set VALUES_TABLE instead',
    ],
    [
      { VALUES_TABLE: 'values; DROP TABLE x' },
      'VALUES_TABLE',
      'VALUES_TABLE must be name or schema.name, each lower-case a-z, 0-9 and _, not starting with a digit, at most 63 long, got "values; DROP TABLE x"',
    ],
    [
      { MAX_EVENT_BYTES: '100' },
      'MAX_EVENT_BYTES',
      'MAX_EVENT_BYTES must be an integer of at least 1024, got "100"',
    ],
    [
      { MAX_CLIENT_BUFFER_BYTES: '100' },
      'MAX_CLIENT_BUFFER_BYTES',
      'MAX_CLIENT_BUFFER_BYTES must be an integer of at least 1024, got "100"',
    ],
    [
      { HEARTBEAT_TIMEOUT_S: '-1' },
      'HEARTBEAT_TIMEOUT_S',
      'HEARTBEAT_TIMEOUT_S must be a positive number of seconds, got "-1"',
    ],
    [
      { HEARTBEAT_TIMEOUT_S: '10', SWEEP_INTERVAL_S: '20' },
      'SWEEP_INTERVAL_S',
      'SWEEP_INTERVAL_S must not be longer than HEARTBEAT_TIMEOUT_S, or idle connections outlive their timeout.',
    ],
    [
      { REDIS_URL: 'http://cache' },
      'REDIS_URL',
      'REDIS_URL must be a redis:// or rediss:// URL, got "http://cache"',
    ],
    [
      { AUTH_JWT_SECRET: 's'.repeat(32), AUTH_JWKS_URL: 'https://auth.example/jwks' },
      'AUTH_JWT_SECRET',
      'AUTH_JWT_SECRET and AUTH_JWKS_URL are both set; a token is checked in one way only, so set one of them.',
    ],
    [
      { AUTH_JWT_SECRET: 'hunter2' },
      'AUTH_JWT_SECRET',
      'AUTH_JWT_SECRET must be at least 32 characters',
    ],
    [
      { AUTH_JWKS_URL: 'file:///jwks' },
      'AUTH_JWKS_URL',
      'AUTH_JWKS_URL must be an http:// or https:// URL, got "file:///jwks"',
    ],
    [
      { ALLOWED_ORIGINS: 'https://a.example, https://app.example/login' },
      'ALLOWED_ORIGINS',
      'ALLOWED_ORIGINS must be * or a comma-separated list of origins like https://example.com, got "https://a.example, https://app.example/login"',
    ],
    [
      { ALLOWED_ORIGINS: '*,https://a.example' },
      'ALLOWED_ORIGINS',
      'ALLOWED_ORIGINS must be * or a comma-separated list of origins like https://example.com, got "*,https://a.example"',
    ],
    [
      { REDIS_URL: 'http://:hunter2@cache' },
      'REDIS_URL',
      'REDIS_URL must be a redis:// or rediss:// URL, got "http://:***@cache"',
    ],
    [
      { STATIC_DIR: '/no/such/dir' },
      'STATIC_DIR',
      'STATIC_DIR must be a directory, got "/no/such/dir"',
    ],
    [
      { LOG_LEVEL: 'loud' },
      'LOG_LEVEL',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    ],
    [
      { STALE_TASK_S: '0' },
      'STALE_TASK_S',
      'STALE_TASK_S must be a positive number of seconds up to 86400, got "0"',
    ],
    [
      { STALE_TASK_S: '86401' },
      'STALE_TASK_S',
      'STALE_TASK_S must be a positive number of seconds up to 86400, got "86401"',
    ],
    [
      { HISTORY_REPLAY_LIMIT: '0' },
      'HISTORY_REPLAY_LIMIT',
      'HISTORY_REPLAY_LIMIT must be an integer from 1 to 1000000, got "0"',
    ],
  ])('refuses %o', (env, variable, message) => {
    let error: unknown
    try {
      loadConfig(env)
    } catch (thrown) {
      error = thrown
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect(error).toMatchObject({ name: 'ConfigError', variable, message })
  })

  it.each(README_BLOCKS.map((block) => [block.name, block] as const))(
    'README block %s is the table of the rows (run `pnpm docs:config` after a change)',
    (_, block) => {
      expect(readBlock(readFileSync(block.file, 'utf8'), block.name)).toBe(block.content)
    },
  )
})
