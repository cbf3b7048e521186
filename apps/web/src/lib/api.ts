import type { ApiRefusal } from '@stockpulse/events'
import { requestHeaders } from './headers'

/** The answer of a gateway API request: the JSON body, or why it was refused. */
export type ApiAnswer =
  | { readonly ok: true; readonly status: number; readonly body: unknown }
  | ({ readonly ok: false; readonly status: number } & Readonly<ApiRefusal>)

export interface ApiRequestOptions {
  method?: 'GET' | 'POST'
  /** Sent as JSON. */
  body?: unknown
  token?: string | undefined
  fetch?: typeof globalThis.fetch
}

/**
 * A JSON request to the gateway. A refusal's `{ error, reason }` body is passed on as it is; any
 * other failure (no answer, not JSON) becomes `error: "unreachable"` or `"http_<status>"` with a
 * sentence. Never throws.
 */
export async function apiRequest(url: string, options: ApiRequestOptions = {}): Promise<ApiAnswer> {
  const { method = 'GET', body, token, fetch = globalThis.fetch } = options
  const headers = requestHeaders(token)
  let response: Response
  try {
    response = await fetch(url, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause)
    return {
      ok: false,
      status: 0,
      error: 'unreachable',
      reason: `The gateway did not answer: ${why}`,
    }
  }
  let json: unknown
  try {
    json = await response.json()
  } catch {
    json = undefined
  }
  if (response.ok) return { ok: true, status: response.status, body: json }
  const refusal = json as { [K in keyof ApiRefusal]?: unknown } | undefined
  return {
    ok: false,
    status: response.status,
    error: typeof refusal?.error === 'string' ? refusal.error : `http_${response.status}`,
    reason:
      typeof refusal?.reason === 'string'
        ? refusal.reason
        : typeof refusal?.error === 'string'
          ? `HTTP ${response.status}: ${refusal.error}`
          : `HTTP ${response.status}`,
  }
}
