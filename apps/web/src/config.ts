/** Where the page keeps the gateway token (a JWT) it is given after sign-in, if auth is on. */
export const TOKEN_STORAGE_KEY = 'stockpulse.token'

/** Where the dashboard finds the gateway, and its token, decided once at start-up. */
export interface DashboardConfig {
  /** ws:// or wss:// URL of the event stream. */
  readonly eventsUrl: string
  /** http(s) URL of the gateway's connection statistics. */
  readonly statsUrl: string
  /** http(s) URL of the gateway's run history (`RunHistoryResponse`). */
  readonly historyUrl: string
  /** http(s) URL of the gateway's JSON API (`api/`): session, stocks, runs, workers, schedule. */
  readonly apiUrl: string
  /** The token to send, read at every connect and request (it may be renewed); none: auth off. */
  readonly token: () => string | undefined
}

/** Thrown when a build-time variable cannot be used. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(
    readonly variable: string,
    readonly value: string,
    reason: string,
  ) {
    super(`${variable}=${JSON.stringify(value)}: ${reason}`)
  }
}

/**
 * The gateway is the page's own origin unless `VITE_GATEWAY_URL` (an http(s) URL, set at build
 * time) says otherwise, e.g. when the static files are served from another host. The token is
 * `storage[TOKEN_STORAGE_KEY]` (the page's sessionStorage), when there is one.
 */
export function resolveConfig(
  gatewayUrl: string | undefined,
  location: Pick<Location, 'href'>,
  storage?: Pick<Storage, 'getItem'>,
): DashboardConfig {
  const base = gatewayUrl ? parseGatewayUrl(gatewayUrl) : new URL('/', location.href)
  const events = new URL('ws/events', base)
  events.protocol = events.protocol === 'https:' ? 'wss:' : 'ws:'
  return Object.freeze({
    eventsUrl: events.href,
    statsUrl: new URL('ws/stats', base).href,
    historyUrl: new URL('ws/history', base).href,
    apiUrl: new URL('api/', base).href,
    token: () => storage?.getItem(TOKEN_STORAGE_KEY) || undefined,
  })
}

function parseGatewayUrl(value: string): URL {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError('VITE_GATEWAY_URL', value, 'not an absolute URL')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError('VITE_GATEWAY_URL', value, 'must start with http:// or https://')
  if (!url.pathname.endsWith('/')) url.pathname += '/'
  return url
}
