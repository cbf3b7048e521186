// ---- Close codes ----

/**
 * WebSocket close codes the gateway uses, with what they mean. 4000-4499: transient, reconnect with
 * backoff. 4500-4999: the same request would fail again, do not reconnect. 1000-1015 keep their
 * RFC 6455 meaning.
 */
export const CLOSE_CODES = {
  NORMAL: [1000, 'Normal closure, asked for by the client.'],
  MESSAGE_TOO_BIG: [1009, 'A frame was larger than MAX_PAYLOAD_BYTES.'],
  UNAVAILABLE: [1011, 'The gateway could not check the token now (JWKS unreachable); retry.'],
  SHUTDOWN: [
    4000,
    'The gateway is shutting down; reconnect (to another instance or the restarted one).',
  ],
  HEARTBEAT_TIMEOUT: [4001, 'No frame from the client within HEARTBEAT_TIMEOUT_S.'],
  SLOW_CLIENT: [
    4002,
    'The client did not read fast enough (over MAX_CLIENT_BUFFER_BYTES unsent, a replay not drained within RESUME_DRAIN_TIMEOUT_S, or over MAX_HELD_EVENTS held while catching up); reconnect.',
  ],
  SERVER_FULL: [
    4003,
    'The gateway is at MAX_CONNECTIONS (open connections and those still being set up); retry later.',
  ],
  RATE_LIMITED: [
    4004,
    'Subscribe/unsubscribe frames came faster than SUBSCRIBE_RATE (after a SUBSCRIBE_BURST) or over MAX_QUEUED_SUBSCRIBES waited; reconnect with backoff.',
  ],
  TOKEN_EXPIRED: [4005, "The token's `exp` passed while connected; reconnect with a fresh token."],
  UNAUTHORIZED: [4500, 'Missing, malformed, badly signed or expired token; get a new token first.'],
  FORBIDDEN_ORIGIN: [4501, 'The Origin header is not in ALLOWED_ORIGINS.'],
  PROTOCOL_VIOLATION: [4502, 'Too many invalid frames.'],
} as const satisfies Record<string, readonly [number, string]>

/** The close codes by name, e.g. `CloseCode.SLOW_CLIENT === 4002`. */
export const CloseCode = mapTable(CLOSE_CODES)
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode]

/** Whether a client should reconnect after a close with this code. */
export function shouldReconnect(code: number): boolean {
  if (code >= 4500 && code <= 4999) return false
  if (code >= 3500 && code <= 3999) return false
  if (code === 1002 || code === 1003 || code === 1008 || code === CloseCode.MESSAGE_TOO_BIG)
    return false
  return code !== CloseCode.NORMAL
}

// ---- Error codes ----

/** Machine-readable codes in `error` frames and failed subscription entries, with their meaning. */
export const ERROR_CODES = {
  INVALID_FRAME: [
    'invalid_frame',
    'The frame is not JSON, not an object, or has missing or mistyped fields.',
  ],
  UNKNOWN_TYPE: ['unknown_type', 'The frame `type` is not one the gateway understands.'],
  INVALID_CHANNEL: [
    'invalid_channel',
    'The channel is not in the catalogue or its id is malformed.',
  ],
  FORBIDDEN_CHANNEL: [
    'forbidden_channel',
    "The token does not allow this channel (another user's, or outside its `channels` claim).",
  ],
  TOO_MANY_SUBSCRIPTIONS: ['too_many_subscriptions', 'MAX_SUBSCRIPTIONS_PER_CONNECTION reached.'],
  INTERNAL: ['internal', 'The gateway failed; the request may be retried.'],
} as const satisfies Record<string, readonly [string, string]>

/** The error codes by name, e.g. `ErrorCode.INVALID_CHANNEL === 'invalid_channel'`. */
export const ErrorCode = mapTable(ERROR_CODES)
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

// ---- Notice codes ----

/** Codes of `notice` frames: what the gateway tells every client about itself. */
export const NOTICE_CODES = {
  BRIDGE_DOWN: ['bridge_down', 'The gateway lost Redis: live events pause until `bridge_up`.'],
  BRIDGE_UP: ['bridge_up', 'Redis is back and every channel is subscribed again.'],
  TASK_STALE: [
    'task_stale',
    'Task `task_id` is still running but sent no event for STALE_TASK_S: its worker may have died.',
  ],
} as const satisfies Record<string, readonly [string, string]>

/** The notice codes by name. */
export const NoticeCode = mapTable(NOTICE_CODES)
export type NoticeCode = (typeof NoticeCode)[keyof typeof NoticeCode]

// ---- Scopes ----

/**
 * Scopes a gateway token may carry in its space-separated `scope` claim. Reading events needs
 * none beyond a valid token (channels are limited by `sub` and the optional `channels` claim).
 */
export const SCOPES = {
  ADMIN: [
    'stockpulse:admin',
    'Operator reads: GET /ws/stats, /ws/channels and /metrics (a Bearer token; Prometheus sends one).',
  ],
  OPERATE: [
    'stockpulse:operate',
    'Starting and cancelling runs: POST /api/runs and POST /api/runs/{task_id}/cancel.',
  ],
} as const satisfies Record<string, readonly [string, string]>

/** The scopes by name, e.g. `Scope.ADMIN === 'stockpulse:admin'`. */
export const Scope = mapTable(SCOPES)
export type Scope = (typeof Scope)[keyof typeof Scope]

// ---- Helpers ----

function mapTable<T extends Record<string, readonly [unknown, string]>>(
  table: T,
): { readonly [K in keyof T]: T[K][0] } {
  return Object.freeze(
    Object.fromEntries(Object.entries(table).map(([name, [value]]) => [name, value])),
  ) as { readonly [K in keyof T]: T[K][0] }
}
