import { bearerProtocols, CloseCode, EVENTS_PROTOCOL } from '@stockpulse/events'
import { SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { TestClient } from '../../src/test-support/gateway.js'
import { expectWholeJobDelivered, withGateway } from './support.js'

// Finding 6: a token without `exp` was accepted, a connection outlived its token, the token was
// read from the URL only (which proxies log), and `iss`/`aud` were never checked.

const SECRET = 'an-abuse-test-secret-long-enough-for-hs256'
const ISSUER = 'https://auth.stockpulse.test/'
const AUDIENCE = 'stockpulse-gateway'

const target = withGateway(() => ({
  env: {
    AUTH_JWT_SECRET: SECRET,
    AUTH_ISSUER: ISSUER,
    AUTH_AUDIENCE: AUDIENCE,
    LOG_LEVEL: 'debug',
  },
}))

/** A token with the expected issuer and audience, expiring at `exp` (seconds; null: never). */
function token(claims: Record<string, unknown>, exp: number | null = now() + 300) {
  const jwt = new SignJWT({ iss: ISSUER, aud: AUDIENCE, ...claims }).setProtectedHeader({
    alg: 'HS256',
  })
  if (exp !== null) jwt.setExpirationTime(exp)
  return jwt.sign(new TextEncoder().encode(SECRET))
}

const now = () => Math.floor(Date.now() / 1000)

describe('abuse: tokens', () => {
  it.each([
    ['no exp', () => token({ sub: 'eve' }, null), 'token has no valid exp claim'],
    [
      'another issuer',
      () => token({ sub: 'eve', iss: 'https://evil.test/' }),
      'token issuer not accepted',
    ],
    ['another audience', () => token({ sub: 'eve', aud: 'other' }), 'token audience not accepted'],
    ['no issuer', () => token({ sub: 'eve', iss: undefined }), 'token issuer not accepted'],
  ])('refuses a token with %s (UNAUTHORIZED)', async (_, make, reason) => {
    const client = new TestClient(target.gateway.wsUrl(`?token=${await make()}`))
    expect(await client.closed).toEqual({ code: CloseCode.UNAUTHORIZED, reason })
    expect(client.received).toEqual([])
  })

  it('closes a connection with TOKEN_EXPIRED when its token expires, and only that one', async () => {
    const bystander = await TestClient.open(
      target.gateway.wsUrl('?channels=events:tasks,events:indicators'),
      {
        headers: { authorization: `Bearer ${await token({ sub: 'bob' })}` },
      },
    )
    const exp = now() + 2
    const expiring = await TestClient.open(
      target.gateway.wsUrl(`?token=${await token({ sub: 'eve' }, exp)}`),
    )
    const closed = await expiring.closed
    expect(closed).toEqual({ code: CloseCode.TOKEN_EXPIRED, reason: 'token expired' })
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000)
    await expectWholeJobDelivered(target.publisher, [bystander], 'calc_tokens', 100)
    await bystander.close()
  })

  it('takes the token from Authorization or a bearer subprotocol, and never logs it', async () => {
    const header = await token({ sub: 'carol' })
    const byHeader = await TestClient.open(target.gateway.wsUrl('?channels=events:tasks'), {
      headers: { authorization: `Bearer ${header}` },
    })
    expect(byHeader.received[0]).toMatchObject({ type: 'connected', user_id: 'carol' })

    const protocol = await token({ sub: 'dave' })
    const browser = new WebSocket(
      target.gateway.wsUrl('?channels=events:tasks'),
      bearerProtocols(protocol),
    )
    const greeting = await new Promise<Record<string, unknown>>((resolve, reject) => {
      browser.once('message', (data: Buffer) => resolve(JSON.parse(data.toString())))
      browser.once('error', reject)
    })
    expect(greeting).toMatchObject({ type: 'connected', user_id: 'dave' })
    // Only the protocol's name comes back, never the token.
    expect(browser.protocol).toBe(EVENTS_PROTOCOL)
    browser.close()
    await byHeader.close()
    for (const jwt of [header, protocol])
      expect(target.gateway.output()).not.toContain(jwt.split('.')[2])
  })
})
