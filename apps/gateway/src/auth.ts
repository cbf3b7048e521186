import type { IncomingMessage } from 'node:http'
import {
  BEARER_PROTOCOL_PREFIX,
  CloseCode,
  ErrorCode,
  type ParsedChannel,
  type Scope,
} from '@stockpulse/events'
import { createRemoteJWKSet, type JWTPayload, type JWTVerifyOptions, jwtVerify } from 'jose'
import type { AuthConfig } from './config.js'

/** Who is connected, from the token's `sub`, and what its optional claims grant. */
export interface Principal {
  readonly userId: string
  /** Channel names, or prefixes ending in `*`; `undefined` grants every channel. */
  readonly grants: readonly string[] | undefined
  /** The space-separated `scope` claim, split. */
  readonly scopes: ReadonlySet<string>
  /** `exp`, in ms since the epoch: the connection is closed with TOKEN_EXPIRED then. */
  readonly expiresAt: number
}

export type AuthResult =
  | { readonly ok: true; readonly principal: Principal | undefined }
  | { readonly ok: false; readonly closeCode: number; readonly reason: string }

/** What an HTTP request that needs a token gets: let in, or refused with a status. */
export type RequestVerdict =
  | { readonly ok: true; readonly userId?: string }
  | { readonly ok: false; readonly status: 401 | 403 | 503; readonly reason: string }

export interface Authenticator {
  /** `true` when a connection without a valid token is refused. */
  readonly required: boolean
  authenticate(token: string | undefined): Promise<AuthResult>
  /**
   * Checks the `Authorization: Bearer` token of an HTTP request; with `scope`, the token must
   * also carry it. Everything is let in when auth is off.
   */
  authorize(req: IncomingMessage, scope?: Scope): Promise<RequestVerdict>
}

/** Why a channel was refused, as it goes into a `subscribed` result. */
export interface AccessDenied {
  readonly code: typeof ErrorCode.FORBIDDEN_CHANNEL
  readonly message: string
}

/** Algorithms accepted from a JWKS; `none` and HMAC (a public key used as a secret) never are. */
const ASYMMETRIC = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
]

/**
 * Checks JWTs as configured: HS256 with AUTH_JWT_SECRET, or keys from AUTH_JWKS_URL; `exp` is
 * required, `iss` and `aud` when AUTH_ISSUER / AUTH_AUDIENCE are set.
 */
export function createAuthenticator(config: AuthConfig): Authenticator {
  if (config.kind === 'none') {
    const anonymous: AuthResult = { ok: true, principal: undefined }
    return {
      required: false,
      authenticate: async () => anonymous,
      authorize: async () => ({ ok: true }),
    }
  }
  const claims: JWTVerifyOptions = {
    requiredClaims: ['exp'],
    ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
    ...(config.audience === undefined ? {} : { audience: config.audience }),
  }
  const verify =
    config.kind === 'secret'
      ? secretVerifier(config.secret, claims)
      : jwksVerifier(config.url, claims)
  const authenticator: Authenticator = {
    required: true,
    async authenticate(token) {
      if (!token) return refuse('missing token')
      try {
        return principalOf((await verify(token)).payload)
      } catch (error) {
        return refusalFor(error)
      }
    },
    async authorize(req, scope) {
      const verdict = await authenticator.authenticate(bearerOf(req))
      if (!verdict.ok) {
        const status = verdict.closeCode === CloseCode.UNAVAILABLE ? 503 : 401
        return { ok: false, status, reason: verdict.reason }
      }
      if (scope !== undefined && !verdict.principal?.scopes.has(scope)) {
        return { ok: false, status: 403, reason: `token lacks the ${scope} scope` }
      }
      return verdict.principal ? { ok: true, userId: verdict.principal.userId } : { ok: true }
    },
  }
  return authenticator
}

/**
 * The token of a WebSocket upgrade: from `Authorization: Bearer`, else a `bearer.<jwt>`
 * subprotocol (browsers), else `?token=` (the seed's clients).
 */
export function upgradeToken(req: IncomingMessage, url: URL): string | undefined {
  return bearerOf(req) ?? protocolToken(req) ?? (url.searchParams.get('token') || undefined)
}

/** Whether a connection of `principal` (undefined: anonymous) may join `channel`. */
export function checkAccess(
  principal: Principal | undefined,
  channel: ParsedChannel,
): AccessDenied | undefined {
  if (channel.kind === 'user') {
    if (!principal) return denied(`${channel.name} needs an authenticated connection`)
    if (channel.id !== principal.userId) return denied(`${channel.name} belongs to another user`)
    return undefined
  }
  const grants = principal?.grants
  if (!grants || grants.some((grant) => grantCovers(grant, channel.name))) return undefined
  return denied(`the token's channels claim does not grant ${channel.name}`)
}

// ---- Helpers ----

type Verifier = (token: string) => Promise<{ payload: JWTPayload }>

function secretVerifier(secret: string, claims: JWTVerifyOptions): Verifier {
  const key = new TextEncoder().encode(secret)
  return (token) => jwtVerify(token, key, { ...claims, algorithms: ['HS256'] })
}

function jwksVerifier(url: URL, claims: JWTVerifyOptions): Verifier {
  const keys = createRemoteJWKSet(url)
  return (token) => jwtVerify(token, keys, { ...claims, algorithms: ASYMMETRIC })
}

function bearerOf(req: IncomingMessage): string | undefined {
  const match = /^Bearer +([^ ]+) *$/i.exec(req.headers.authorization ?? '')
  return match?.[1]
}

function protocolToken(req: IncomingMessage): string | undefined {
  const offered = req.headers['sec-websocket-protocol']
  if (typeof offered !== 'string') return undefined
  for (const protocol of offered.split(',')) {
    const name = protocol.trim()
    if (name.startsWith(BEARER_PROTOCOL_PREFIX)) return name.slice(BEARER_PROTOCOL_PREFIX.length)
  }
  return undefined
}

function principalOf(payload: JWTPayload): AuthResult {
  if (typeof payload.sub !== 'string' || payload.sub === '') return refuse('token has no sub claim')
  const grants = payload.channels
  if (
    grants !== undefined &&
    !(Array.isArray(grants) && grants.every((g) => typeof g === 'string'))
  ) {
    return refuse('token channels claim must be an array of strings')
  }
  const scope = payload.scope
  if (scope !== undefined && typeof scope !== 'string') {
    return refuse('token scope claim must be a space-separated string')
  }
  return {
    ok: true,
    principal: {
      userId: payload.sub,
      grants,
      scopes: new Set(scope?.split(' ').filter((s) => s !== '') ?? []),
      // `requiredClaims` made jose check that `exp` is there and a number.
      expiresAt: (payload.exp as number) * 1000,
    },
  }
}

const REASONS: ReadonlyMap<string, string> = new Map([
  ['ERR_JWT_EXPIRED', 'token expired'],
  ['ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'token signature invalid'],
  ['ERR_JOSE_ALG_NOT_ALLOWED', 'token algorithm not allowed'],
  ['ERR_JOSE_NOT_SUPPORTED', 'token algorithm not allowed'],
  ['ERR_JWS_INVALID', 'token malformed'],
  ['ERR_JWT_INVALID', 'token malformed'],
  ['ERR_JWT_CLAIM_VALIDATION_FAILED', 'token claims not valid now'],
  ['ERR_JWKS_NO_MATCHING_KEY', 'token signed by an unknown key'],
  ['ERR_JWKS_MULTIPLE_MATCHING_KEYS', 'token signed by an unknown key'],
])

/** Claim checks that fail for a reason other than time (`nbf`, `iat`). */
const CLAIM_REASONS: ReadonlyMap<string, string> = new Map([
  ['exp', 'token has no valid exp claim'],
  ['iss', 'token issuer not accepted'],
  ['aud', 'token audience not accepted'],
])

function refusalFor(error: unknown): AuthResult {
  const { code, claim } = error as { code?: unknown; claim?: unknown }
  const byClaim =
    code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && typeof claim === 'string'
      ? CLAIM_REASONS.get(claim)
      : undefined
  const reason = byClaim ?? (typeof code === 'string' ? REASONS.get(code) : undefined)
  // Anything else (the JWKS could not be fetched) is the gateway's trouble: 1011, try again.
  return reason
    ? refuse(reason)
    : { ok: false, closeCode: CloseCode.UNAVAILABLE, reason: 'token could not be checked' }
}

function refuse(reason: string): AuthResult {
  return { ok: false, closeCode: CloseCode.UNAUTHORIZED, reason }
}

function denied(message: string): AccessDenied {
  return { code: ErrorCode.FORBIDDEN_CHANNEL, message }
}

function grantCovers(grant: string, channel: string): boolean {
  return grant.endsWith('*') ? channel.startsWith(grant.slice(0, -1)) : grant === channel
}
