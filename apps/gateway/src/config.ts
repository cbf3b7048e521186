import { statSync } from 'node:fs'
import { resolve } from 'node:path'
import {
  barsTableNames,
  deepFreeze,
  defineOptions,
  type Env,
  type LogLevel,
  option,
  parseEnv,
  SHARED_OPTIONS,
  tableName,
} from '@stockpulse/config'
import { ConfigError } from './errors.js'
import { DEFAULT_REPLAY_LIMIT } from './history.js'
import type { StoredTables } from './stored-values.js'

export type { LogLevel }

/** Claims every token must carry besides `sub` and `exp`, when configured. */
export interface ExpectedClaims {
  /** AUTH_ISSUER: the `iss` claim. */
  readonly issuer: string | undefined
  /** AUTH_AUDIENCE: one of the `aud` values. */
  readonly audience: string | undefined
}

/** How connections prove who they are. */
export type AuthConfig =
  | { readonly kind: 'none' }
  | ({ readonly kind: 'secret'; readonly secret: string } & ExpectedClaims)
  | ({ readonly kind: 'jwks'; readonly url: URL } & ExpectedClaims)

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
  /** Subscribe/unsubscribe frames per second one connection may send, sustained. */
  readonly subscribeRate: number
  /** Subscribe/unsubscribe frames one connection may send at once before the rate applies. */
  readonly subscribeBurst: number
  /** Subscribe/unsubscribe frames of one connection waiting for the one in progress. */
  readonly maxQueuedSubscribes: number
  /** Longest a replay waits for a client's socket to drain before SLOW_CLIENT. */
  readonly resumeDrainTimeoutMs: number
  /** Live events held for one connection while it catches up, before SLOW_CLIENT. */
  readonly maxHeldEvents: number
  /** Largest event from Redis forwarded; larger ones are dropped. */
  readonly maxEventBytes: number
  /** Longest from a TCP connection to its completed WebSocket handshake (or HTTP request headers). */
  readonly upgradeTimeoutMs: number
  /** `undefined` lets every origin in. */
  readonly allowedOrigins: ReadonlySet<string> | undefined
  readonly staticDir: string | undefined
  readonly logLevel: LogLevel
  /** Prefix of the history keys the worker writes: KEY_PREFIX, the same variable for both. */
  readonly keyPrefix: string
  /** A running task silent this long gets a `task_stale` notice. */
  readonly staleTaskMs: number
  /** Most events replayed per channel per subscribe; a longer gap is answered with a snapshot. */
  readonly historyReplayLimit: number
  /** PostgreSQL: when set, `GET /api/stocks/{code}` reads the worker's values and bars tables. */
  readonly databaseUrl: string | undefined
  /** Those tables' names: BARS_TABLE, BARS_COLUMNS and VALUES_TABLE, as the worker's. */
  readonly storedTables: StoredTables
}

/** Upper bound of STALE_TASK_S: a day. */
const MAX_STALE_TASK_S = 86_400

/** Upper bound of HISTORY_REPLAY_LIMIT: a replay is held in memory while it is written. */
const MAX_HISTORY_REPLAY_LIMIT = 1_000_000

/** Every variable of the gateway, one row each: `loadConfig` and the README tables read them. */
export const GATEWAY_OPTIONS = defineOptions({
  ...SHARED_OPTIONS,
  port: option.integer({
    env: 'PORT',
    default: 8000,
    min: 0,
    max: 65_535,
    help: 'TCP port of the HTTP and WebSocket server (0 picks a free one)',
  }),
  host: option.string({ env: 'HOST', default: '0.0.0.0', help: 'address to listen on' }),
  jwtSecret: option.string({
    env: 'AUTH_JWT_SECRET',
    minLength: 32,
    secret: true,
    help: 'HS256 secret; when set, connections need a valid JWT (sub = user id)',
  }),
  jwksUrl: option.url({
    env: 'AUTH_JWKS_URL',
    protocols: ['http', 'https'],
    help: 'JWKS for RS/PS/ES/EdDSA-signed JWTs; exclusive with AUTH_JWT_SECRET',
  }),
  issuer: option.string({
    env: 'AUTH_ISSUER',
    help: 'with auth on: the iss claim every token must carry',
  }),
  audience: option.string({
    env: 'AUTH_AUDIENCE',
    help: 'with auth on: a value the aud claim of every token must contain',
  }),
  heartbeatTimeout: option.duration({
    env: 'HEARTBEAT_TIMEOUT_S',
    default: 60,
    help: 'close a connection that sent no frame for this long',
  }),
  sweepInterval: option.duration({
    env: 'SWEEP_INTERVAL_S',
    default: 30,
    help: 'how often heartbeats and stale tasks are checked and pings sent',
  }),
  staleTask: option.duration({
    env: 'STALE_TASK_S',
    default: 60,
    max: MAX_STALE_TASK_S,
    help: 'a running task silent this long is stale: the gateway sends task_stale and badges it',
  }),
  maxClientBufferBytes: option.integer({
    env: 'MAX_CLIENT_BUFFER_BYTES',
    default: 1_048_576,
    min: 1024,
    help: 'unsent bytes per socket before progress is conflated; twice this closes the client',
  }),
  maxConnections: option.integer({
    env: 'MAX_CONNECTIONS',
    default: 10_000,
    min: 1,
    help: 'TCP connections (WebSockets, upgrades in progress, requests); a WebSocket beyond is closed with SERVER_FULL',
  }),
  maxPayloadBytes: option.integer({
    env: 'MAX_PAYLOAD_BYTES',
    default: 65_536,
    min: 256,
    help: 'largest client frame; larger ones close the connection (1009)',
  }),
  maxSubscriptionsPerConnection: option.integer({
    env: 'MAX_SUBSCRIPTIONS_PER_CONNECTION',
    default: 100,
    min: 1,
    help: 'channels one connection may join',
  }),
  subscribeRate: option.number({
    env: 'SUBSCRIBE_RATE',
    default: 10,
    help: 'subscribe/unsubscribe frames per second per connection, sustained; faster closes it (RATE_LIMITED)',
  }),
  subscribeBurst: option.integer({
    env: 'SUBSCRIBE_BURST',
    default: 20,
    min: 1,
    help: 'subscribe/unsubscribe frames a connection may send at once',
  }),
  maxQueuedSubscribes: option.integer({
    env: 'MAX_QUEUED_SUBSCRIBES',
    default: 8,
    min: 1,
    help: 'subscribe/unsubscribe frames waiting per connection; more closes it (RATE_LIMITED)',
  }),
  resumeDrainTimeout: option.duration({
    env: 'RESUME_DRAIN_TIMEOUT_S',
    default: 10,
    help: "longest a replay waits for the client's socket to drain; longer closes it (SLOW_CLIENT)",
  }),
  maxHeldEvents: option.integer({
    env: 'MAX_HELD_EVENTS',
    default: 10_000,
    min: 1,
    help: 'live events held per connection while it catches up; more closes it (SLOW_CLIENT)',
  }),
  maxEventBytes: option.integer({
    env: 'MAX_EVENT_BYTES',
    default: 65_536,
    min: 1024,
    help: 'largest event forwarded from Redis; larger ones are dropped (too_large)',
  }),
  upgradeTimeout: option.duration({
    env: 'UPGRADE_TIMEOUT_S',
    default: 10,
    help: 'longest a client may take to send its request headers and finish the WebSocket handshake',
  }),
  allowedOrigins: option.list({
    env: 'ALLOWED_ORIGINS',
    default: ['*'],
    valid: (items) => (items.length === 1 && items[0] === '*') || items.every(isOrigin),
    expected: '* or a comma-separated list of origins like https://example.com',
    help: 'browser origins allowed to connect; * allows all',
  }),
  staticDir: option.string({
    env: 'STATIC_DIR',
    valid: isDirectory,
    expected: 'a directory',
    help: 'built dashboard served at /, with SPA fallback (pnpm start sets it)',
  }),
  historyReplayLimit: option.integer({
    env: 'HISTORY_REPLAY_LIMIT',
    default: DEFAULT_REPLAY_LIMIT,
    min: 1,
    max: MAX_HISTORY_REPLAY_LIMIT,
    help: 'most events replayed per channel on a resume; a longer gap gets a snapshot',
  }),
})

/** Parses the gateway's variables out of `env` (normally `process.env`); throws ConfigError. */
export function loadConfig(env: Env): GatewayConfig {
  const values = parseEnv(GATEWAY_OPTIONS, env)
  if (values.sweepInterval > values.heartbeatTimeout) {
    throw new ConfigError(
      'SWEEP_INTERVAL_S',
      'SWEEP_INTERVAL_S must not be longer than HEARTBEAT_TIMEOUT_S, or idle connections outlive their timeout.',
    )
  }
  const { allowedOrigins, staticDir } = values
  return deepFreeze({
    port: values.port,
    host: values.host,
    redisUrl: values.redisUrl,
    auth: auth(values.jwtSecret, values.jwksUrl, {
      issuer: values.issuer,
      audience: values.audience,
    }),
    heartbeatTimeoutMs: milliseconds(values.heartbeatTimeout),
    sweepIntervalMs: milliseconds(values.sweepInterval),
    maxClientBufferBytes: values.maxClientBufferBytes,
    maxConnections: values.maxConnections,
    maxPayloadBytes: values.maxPayloadBytes,
    maxSubscriptionsPerConnection: values.maxSubscriptionsPerConnection,
    subscribeRate: values.subscribeRate,
    subscribeBurst: values.subscribeBurst,
    maxQueuedSubscribes: values.maxQueuedSubscribes,
    resumeDrainTimeoutMs: milliseconds(values.resumeDrainTimeout),
    maxHeldEvents: values.maxHeldEvents,
    maxEventBytes: values.maxEventBytes,
    upgradeTimeoutMs: milliseconds(values.upgradeTimeout),
    allowedOrigins: allowedOrigins.includes('*') ? undefined : new Set(allowedOrigins),
    staticDir: staticDir === undefined ? undefined : resolve(staticDir),
    logLevel: values.logLevel,
    keyPrefix: values.keyPrefix,
    staleTaskMs: milliseconds(values.staleTask),
    historyReplayLimit: values.historyReplayLimit,
    databaseUrl: values.databaseUrl,
    storedTables: {
      bars: barsTableNames(values.barsTable, values.barsColumns),
      values: tableName(values.valuesTable),
    },
  })
}

// ---- Helpers ----

function auth(
  secret: string | undefined,
  jwksUrl: string | undefined,
  claims: ExpectedClaims,
): AuthConfig {
  if (!secret && !jwksUrl) {
    const stray = claims.issuer ? 'AUTH_ISSUER' : claims.audience ? 'AUTH_AUDIENCE' : undefined
    if (stray) {
      throw new ConfigError(
        stray,
        `${stray} is set but auth is off; set AUTH_JWT_SECRET or AUTH_JWKS_URL too, or unset it.`,
      )
    }
    return { kind: 'none' }
  }
  if (secret && jwksUrl) {
    throw new ConfigError(
      'AUTH_JWT_SECRET',
      'AUTH_JWT_SECRET and AUTH_JWKS_URL are both set; a token is checked in one way only, so set one of them.',
    )
  }
  if (secret) return { kind: 'secret', secret, ...claims }
  return { kind: 'jwks', url: new URL(jwksUrl!), ...claims }
}

function milliseconds(seconds: number): number {
  return Math.round(seconds * 1000)
}

function isOrigin(text: string): boolean {
  return URL.canParse(text) && new URL(text).origin === text
}

function isDirectory(text: string): boolean {
  return statSync(resolve(text), { throwIfNoEntry: false })?.isDirectory() ?? false
}
