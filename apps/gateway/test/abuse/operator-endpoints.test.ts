import { SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { TestClient } from '../../src/test-support/gateway.js'
import { expectWholeJobDelivered, withGateway } from './support.js'

// Finding 5: with auth on, /ws/stats, /ws/channels, /ws/history and /metrics answered anyone, and
// /ws/stats listed user and task ids.

const SECRET = 'an-abuse-test-secret-long-enough-for-hs256'

let admin: string
let reader: string
const target = withGateway(async () => {
  admin = await token({ sub: 'ops', scope: 'openid stockpulse:admin' })
  reader = await token({ sub: 'alice.smith_42' })
  return { env: { AUTH_JWT_SECRET: SECRET }, adminToken: admin }
})

function token(claims: Record<string, unknown>, secret = SECRET): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret))
}

describe('abuse: reading the operator endpoints', () => {
  it('refuses them without an admin token, and the stream goes on', async () => {
    const alice = await TestClient.open(
      target.gateway.wsUrl(
        `?channels=events:tasks,events:indicators,events:user:alice.smith_42&token=${reader}`,
      ),
    )
    const forged = await token({ sub: 'mallory', scope: 'stockpulse:admin' }, 'x'.repeat(43))
    for (const path of ['/ws/stats', '/ws/channels', '/metrics']) {
      const anonymous = await target.gateway.get(path)
      expect(anonymous, path).toMatchObject({ status: 401, body: '{"error":"missing token"}' })
      expect(anonymous.headers['www-authenticate']).toBe('Bearer')
      expect(
        await target.gateway.get(path, { authorization: `Bearer ${forged}` }),
        path,
      ).toMatchObject({
        status: 401,
        body: '{"error":"token signature invalid"}',
      })
      expect(await target.gateway.get(`${path}?token=${admin}`), path).toMatchObject({
        status: 401,
      })
      expect(
        await target.gateway.get(path, { authorization: `Bearer ${reader}` }),
        path,
      ).toMatchObject({
        status: 403,
        body: '{"error":"token lacks the stockpulse:admin scope"}',
      })
      const allowed = await target.gateway.get(path, { authorization: `Bearer ${admin}` })
      expect(allowed.status, path).toBe(200)
    }
    // The ids in /ws/stats reach operators only.
    expect(Object.keys((await target.gateway.stats()).channels)).toContain(
      'events:user:alice.smith_42',
    )

    expect(await target.gateway.get('/ws/history')).toMatchObject({ status: 401 })
    expect(
      await target.gateway.get('/ws/history', { authorization: `Bearer ${reader}` }),
    ).toMatchObject({
      status: 200,
      body: '{"runs":[]}',
    })
    expect(await target.gateway.get('/healthz')).toMatchObject({ status: 200 })
    await expectWholeJobDelivered(target.publisher, [alice], 'calc_operator', 100)
    await alice.close()
  })
})
