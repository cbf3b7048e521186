import { statSync } from 'node:fs'
import { resolve } from 'node:path'
import { DEFAULT_KEY_PREFIX } from '@stockpulse/events'
import { ConfigError } from './errors.js'
import { DEFAULT_REPLAY_LIMIT } from './history.js'

/** How connections prove who they are. */
export type AuthConfig =
  | { readonly kind: 'none' }
  | { readonly kind: 'secret'; readonly secret: string }
  | { readonly kind: 'jwks'; readonly url: URL }

/** Everything the gateway reads from its environment, parsed and frozen. */
export interface GatewayConfig {
  readonly port: number
  readonly host: string
  readonly redisUrl: string
  readonly auth: AuthConfig
  readonly heartbeatTimeoutMs: number
  readonly sweepIntervalMs: number
  readonly maxClientBufferBytes: number
  readonly maxConnections: number
  readonly maxPayloadBytes: number
  readonly maxSubscriptionsPerConnection: number
  /** `undefined` lets every origin in. */
  readonly allowedOrigins: ReadonlySet<string> | undefined
  readonly staticDir: string | undefined
  readonly logLevel: LogLevel
  /** Prefix of the history keys the worker writes (its WORKER_KEY_PREFIX). */
  readonly keyPrefix: string
  /** A running task silent this long gets a `task_stale` notice. */
  readonly staleTaskMs: number
  /** Most events replayed per channel per subscribe; a longer gap is answered with a snapshot. */
  readonly historyReplayLimit: number
}

export type LogLevel = (typeof LOG_LEVELS)[number]
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** Every variable with its default ('' when unset by default) and meaning; the README's table. */
export const CONFIG_VARIABLES = [
  ['PORT', '8000', 'TCP port of the HTTP and WebSocket server (0 picks a free one)'],
  ['HOST', '0.0.0.0', 'Address to listen on'],
  ['REDIS_URL', 'redis://127.0.0.1:6379', 'Redis whose Pub/Sub carries the events'],
  ['AUTH_JWT_SECRET', '', 'HS256 secret (32+ characters); when set, connections need a valid JWT'],
  ['AUTH_JWKS_URL', '', 'JWKS URL for RS/PS/ES/EdDSA-signed JWTs; exclusive with AUTH_JWT_SECRET'],
  ['HEARTBEAT_TIMEOUT_S', '60', 'Close a connection that sent no frame for this long'],
  ['SWEEP_INTERVAL_S', '30', 'How often heartbeats are checked and pings sent'],
  [
    'MAX_CLIENT_BUFFER_BYTES',
    '1048576',
    'Unsent bytes per socket before progress is conflated; twice this closes the client',
  ],
  ['MAX_CONNECTIONS', '10000', 'Connections beyond this are closed with SERVER_FULL'],
  ['MAX_PAYLOAD_BYTES', '65536', 'Largest client frame; larger ones close the connection (1009)'],
  ['MAX_SUBSCRIPTIONS_PER_CONNECTION', '100', 'Channels one connection may join'],
  ['ALLOWED_ORIGINS', '*', 'Comma-separated browser origins allowed to connect; * allows all'],
  ['STATIC_DIR', '', 'Directory of built dashboard files served at /, with SPA fallback'],
  ['LOG_LEVEL', 'info', `pino level: ${LOG_LEVELS.join(', ')}`],
  [
    'KEY_PREFIX',
    DEFAULT_KEY_PREFIX,
    "Prefix of the worker's history keys; the worker's WORKER_KEY_PREFIX",
  ],
  ['STALE_TASK_S', '60', 'A running task silent this long gets a task_stale notice'],
  [
    'HISTORY_REPLAY_LIMIT',
    String(DEFAULT_REPLAY_LIMIT),
    'Most events replayed per channel on a resume; a longer gap gets a snapshot',
  ],
] as const satisfies ReadonlyArray<readonly [name: string, fallback: string, meaning: string]>

type Variable = (typeof CONFIG_VARIABLES)[number][0]

/** Upper bound of HISTORY_REPLAY_LIMIT: a replay is held in memory while it is written. */
const MAX_HISTORY_REPLAY_LIMIT = 1_000_000
type Env = Readonly<Record<string, string | undefined>>

/** Parses the gateway's variables out of `env` (normally `process.env`); throws ConfigError. */
export function loadConfig(env: Env): GatewayConfig {
  const read = (name: Variable): string => {
    const value = env[name]?.trim()
    return value ? value : (CONFIG_VARIABLES.find(([n]) => n === name)?.[1] ?? '')
  }
  const heartbeatTimeoutMs = seconds('HEARTBEAT_TIMEOUT_S', read('HEARTBEAT_TIMEOUT_S'))
  const sweepIntervalMs = seconds('SWEEP_INTERVAL_S', read('SWEEP_INTERVAL_S'))
  if (sweepIntervalMs > heartbeatTimeoutMs) {
    throw new ConfigError(
      'SWEEP_INTERVAL_S',
      `must not be longer than HEARTBEAT_TIMEOUT_S, or idle connections outlive their timeout.`,
    )
  }
  return Object.freeze({
    port: integer('PORT', read('PORT'), 0, 65_535),
    host: read('HOST'),
    redisUrl: redisUrl(read('REDIS_URL')),
    auth: Object.freeze(auth(read('AUTH_JWT_SECRET'), read('AUTH_JWKS_URL'))),
    heartbeatTimeoutMs,
    sweepIntervalMs,
    maxClientBufferBytes: integer('MAX_CLIENT_BUFFER_BYTES', read('MAX_CLIENT_BUFFER_BYTES'), 1024),
    maxConnections: integer('MAX_CONNECTIONS', read('MAX_CONNECTIONS'), 1),
    maxPayloadBytes: integer('MAX_PAYLOAD_BYTES', read('MAX_PAYLOAD_BYTES'), 256),
    maxSubscriptionsPerConnection: integer(
      'MAX_SUBSCRIPTIONS_PER_CONNECTION',
      read('MAX_SUBSCRIPTIONS_PER_CONNECTION'),
      1,
    ),
    allowedOrigins: origins(read('ALLOWED_ORIGINS')),
    staticDir: directory('STATIC_DIR', read('STATIC_DIR')),
    logLevel: logLevel(read('LOG_LEVEL')),
    keyPrefix: read('KEY_PREFIX'),
    staleTaskMs: seconds('STALE_TASK_S', read('STALE_TASK_S')),
    historyReplayLimit: integer(
      'HISTORY_REPLAY_LIMIT',
      read('HISTORY_REPLAY_LIMIT'),
      1,
      MAX_HISTORY_REPLAY_LIMIT,
    ),
  })
}

// ---- Parsers ----

function integer(name: Variable, raw: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(raw)
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`
    throw new ConfigError(name, `must be an integer ${range}, got ${JSON.stringify(raw)}`)
  }
  return value
}

function seconds(name: Variable, raw: string): number {
  const value = Number(raw)
  if (!/^\d+(\.\d+)?$/.test(raw) || value <= 0) {
    throw new ConfigError(name, `must be a positive number of seconds, got ${JSON.stringify(raw)}`)
  }
  return Math.round(value * 1000)
}

function redisUrl(raw: string): string {
  if (!URL.canParse(raw) || !/^rediss?:$/.test(new URL(raw).protocol)) {
    throw new ConfigError(
      'REDIS_URL',
      `must be a redis:// or rediss:// URL, got ${JSON.stringify(raw)}`,
    )
  }
  return raw
}

function auth(secret: string, jwksUrl: string): AuthConfig {
  if (secret && jwksUrl) {
    throw new ConfigError(
      'AUTH_JWT_SECRET',
      'and AUTH_JWKS_URL are both set; a token is checked in one way only, so set one of them.',
    )
  }
  if (secret) {
    // The value is a secret: the message never repeats it.
    if (secret.length < 32)
      throw new ConfigError('AUTH_JWT_SECRET', 'must be at least 32 characters')
    return { kind: 'secret', secret }
  }
  if (jwksUrl) {
    if (!URL.canParse(jwksUrl) || !/^https?:$/.test(new URL(jwksUrl).protocol)) {
      throw new ConfigError(
        'AUTH_JWKS_URL',
        `must be an http(s) URL, got ${JSON.stringify(jwksUrl)}`,
      )
    }
    return { kind: 'jwks', url: new URL(jwksUrl) }
  }
  return { kind: 'none' }
}

function origins(raw: string): ReadonlySet<string> | undefined {
  if (raw === '*') return undefined
  const list = raw.split(',').map((origin) => origin.trim())
  for (const origin of list) {
    if (!URL.canParse(origin) || new URL(origin).origin !== origin) {
      throw new ConfigError(
        'ALLOWED_ORIGINS',
        `must be * or a comma-separated list of origins like https://example.com, got ${JSON.stringify(origin)}`,
      )
    }
  }
  return new Set(list)
}

function directory(name: Variable, raw: string): string | undefined {
  if (!raw) return undefined
  const path = resolve(raw)
  const isDirectory = statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false
  if (!isDirectory) throw new ConfigError(name, `must be a directory, got ${JSON.stringify(raw)}`)
  return path
}

function logLevel(raw: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === raw)
  if (!level) {
    throw new ConfigError(
      'LOG_LEVEL',
      `must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(raw)}`,
    )
  }
  return level
}
