import { CloseCode, ErrorCode, type ParsedChannel } from '@stockpulse/events'
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose'
import type { AuthConfig } from './config.js'

/** Who is connected, from the token's `sub`, and what the optional `channels` claim grants. */
export interface Principal {
  readonly userId: string
  /** Channel names, or prefixes ending in `*`; `undefined` grants every channel. */
  readonly grants: readonly string[] | undefined
}

export type AuthResult =
  | { readonly ok: true; readonly principal: Principal | undefined }
  | { readonly ok: false; readonly closeCode: number; readonly reason: string }

export interface Authenticator {
  /** `true` when a connection without a valid token is refused. */
  readonly required: boolean
  authenticate(token: string | null): Promise<AuthResult>
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

/** Checks JWTs as configured: HS256 with AUTH_JWT_SECRET, or keys from AUTH_JWKS_URL. */
export function createAuthenticator(config: AuthConfig): Authenticator {
  if (config.kind === 'none') {
    const anonymous: AuthResult = { ok: true, principal: undefined }
    return { required: false, authenticate: async () => anonymous }
  }
  const verify = config.kind === 'secret' ? secretVerifier(config.secret) : jwksVerifier(config.url)
  return {
    required: true,
    async authenticate(token) {
      if (!token) return refuse('missing token')
      try {
        return principalOf((await verify(token)).payload)
      } catch (error) {
        return refusalFor(error)
      }
    },
  }
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

function secretVerifier(secret: string): Verifier {
  const key = new TextEncoder().encode(secret)
  return (token) => jwtVerify(token, key, { algorithms: ['HS256'] })
}

function jwksVerifier(url: URL): Verifier {
  const keys = createRemoteJWKSet(url)
  return (token) => jwtVerify(token, keys, { algorithms: ASYMMETRIC })
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
  return { ok: true, principal: { userId: payload.sub, grants } }
}

const REASONS: Record<string, string> = {
  ERR_JWT_EXPIRED: 'token expired',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'token signature invalid',
  ERR_JOSE_ALG_NOT_ALLOWED: 'token algorithm not allowed',
  ERR_JOSE_NOT_SUPPORTED: 'token algorithm not allowed',
  ERR_JWS_INVALID: 'token malformed',
  ERR_JWT_INVALID: 'token malformed',
  ERR_JWT_CLAIM_VALIDATION_FAILED: 'token claims not valid now',
  ERR_JWKS_NO_MATCHING_KEY: 'token signed by an unknown key',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'token signed by an unknown key',
}

function refusalFor(error: unknown): AuthResult {
  const code = (error as { code?: unknown }).code
  const reason = typeof code === 'string' ? REASONS[code] : undefined
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
