import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net'
import {
  CloseCode,
  createMemoryBus,
  createUserNotificationEvent,
  parseChannel,
} from '@stockpulse/events'
import { until } from '@stockpulse/testing'
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose'
import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { checkAccess, createAuthenticator, type Principal } from './auth.js'
import { createBusBridge } from './bus-bridge.js'
import { startGateway, TestClient, type TestGateway, untilReady } from './test-support/gateway.js'
import { withRedis } from './test-support/redis.js'

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256'
const key = new TextEncoder().encode(SECRET)

const shared = withRedis()
let test: TestGateway
const clients: TestClient[] = []

beforeAll(async () => {
  test = await startGateway({ REDIS_URL: shared.redis.url, AUTH_JWT_SECRET: SECRET })
  await untilReady(test)
})
afterAll(() => test.close())
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()))
})

function token(claims: Record<string, unknown>, expiresIn = '5m', secret = key): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(expiresIn)
    .sign(secret)
}

function connect(query: string): TestClient {
  const client = new TestClient(test.wsUrl(query))
  clients.push(client)
  return client
}

async function open(query: string): Promise<TestClient> {
  const client = connect(query)
  await client.next((m) => m.type === 'subscribed')
  return client
}

describe('auth', () => {
  it.each([
    ['no token', async () => '', 'missing token'],
    [
      'a bad signature',
      () => token({ sub: 'alice' }, '5m', new TextEncoder().encode('x'.repeat(40))),
      'token signature invalid',
    ],
    [
      'alg none',
      async () => new UnsecuredJWT({ sub: 'alice' }).encode(),
      'token algorithm not allowed',
    ],
    [
      'HS512',
      () => new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS512' }).sign(key),
      'token algorithm not allowed',
    ],
    ['an expired token', () => token({ sub: 'alice' }, '-10s'), 'token expired'],
    ['garbage', async () => 'not.a.jwt', 'token malformed'],
    ['no sub', () => token({}), 'token has no sub claim'],
    [
      'no exp',
      () => new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256' }).sign(key),
      'token has no valid exp claim',
    ],
    [
      'a scope claim that is not a string',
      () => token({ sub: 'alice', scope: ['stockpulse:admin'] }),
      'token scope claim must be a space-separated string',
    ],
    [
      'a bad channels claim',
      () => token({ sub: 'alice', channels: 'events:tasks' }),
      'token channels claim must be an array of strings',
    ],
  ])('accepts then closes UNAUTHORIZED with %s', async (_, make, reason) => {
    const jwt = await make()
    const client = connect(jwt ? `?token=${jwt}` : '')
    expect(await client.closed).toEqual({ code: CloseCode.UNAUTHORIZED, reason })
    expect(client.received).toEqual([])
  })

  it('asks a token with the operate scope of the run endpoints, then JSON', async () => {
    const post = async (path: string, bearer: string | undefined, type = 'application/json') => {
      const response = await fetch(test.httpUrl(path), {
        method: 'POST',
        headers: {
          'content-type': type,
          ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }),
        },
        body: '{"stocks":0}',
      })
      return { status: response.status, body: await response.json() }
    }
    expect(await post('/api/runs', undefined)).toEqual({
      status: 401,
      body: { error: 'unauthorized', reason: 'missing token' },
    })
    const reader = await token({ sub: 'alice' })
    expect(await post('/api/runs', reader)).toMatchObject({
      status: 403,
      body: { error: 'forbidden' },
    })
    expect(await post('/api/runs/calc_1/cancel', reader)).toMatchObject({ status: 403 })
    const operator = await token({ sub: 'alice', scope: 'stockpulse:operate' })
    expect(await post('/api/runs', operator, 'text/plain')).toMatchObject({
      status: 415,
      body: { error: 'unsupported_media_type' },
    })
    // Past the token and the media type: the run queue (none in this gateway) answers.
    expect(await post('/api/runs', operator)).toEqual({
      status: 503,
      body: { error: 'unavailable', reason: 'runs need Redis: this gateway runs without it' },
    })
  })

  it('names the user and adds their own channel to the defaults', async () => {
    const client = await open(`?token=${await token({ sub: 'alice' })}`)
    expect(client.received[0]).toMatchObject({ type: 'connected', user_id: 'alice' })
    expect(client.received[1]).toEqual({
      type: 'subscribed',
      results: ['events:tasks', 'events:indicators', 'events:system', 'events:user:alice'].map(
        (channel) => ({ channel, ok: true }),
      ),
    })
  })

  it("refuses another user's channel and delivers user events only to their user", async () => {
    const alice = await open(
      `?token=${await token({ sub: 'alice' })}&channels=events:user:alice,events:user:bob`,
    )
    const bob = await open(`?token=${await token({ sub: 'bob' })}&channels=events:user:bob`)
    expect(alice.received[1]).toEqual({
      type: 'subscribed',
      results: [
        { channel: 'events:user:alice', ok: true },
        {
          channel: 'events:user:bob',
          ok: false,
          code: 'forbidden_channel',
          message: 'events:user:bob belongs to another user',
        },
      ],
    })
    const note = (user: string) =>
      createUserNotificationEvent({
        user_id: user,
        level: 'info',
        title: 'Done',
        message: `for ${user}`,
      })
    await shared.publisher.publish('events:user:bob', note('bob'))
    await shared.publisher.publish('events:user:alice', note('alice'))
    await alice.next((m) => m.event_type === 'user.notification')
    await bob.next((m) => m.event_type === 'user.notification')
    expect(alice.events().map((e) => e.message)).toEqual(['for alice'])
    expect(bob.events().map((e) => e.message)).toEqual(['for bob'])
  })

  it('limits channels to the channels claim, prefixes included', async () => {
    const jwt = await token({ sub: 'carol', channels: ['events:tasks', 'events:task:*'] })
    const client = await open(
      `?token=${jwt}&channels=events:tasks,events:task:calc_9,events:market,events:user:carol`,
    )
    expect(client.received[1]).toEqual({
      type: 'subscribed',
      results: [
        { channel: 'events:tasks', ok: true },
        { channel: 'events:task:calc_9', ok: true },
        {
          channel: 'events:market',
          ok: false,
          code: 'forbidden_channel',
          message: "the token's channels claim does not grant events:market",
        },
        { channel: 'events:user:carol', ok: true },
      ],
    })
  })

  it('never logs the token: refusals log the path only', async () => {
    const lines: string[] = []
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) })
    const logged = await startGateway(
      { AUTH_JWT_SECRET: SECRET },
      { bridge: createBusBridge(createMemoryBus()), logger },
    )
    const jwt = await token({ sub: 'alice' }, '-10s')
    const client = new TestClient(logged.wsUrl(`?channels=events:tasks&token=${jwt}`))
    expect((await client.closed).code).toBe(CloseCode.UNAUTHORIZED)
    await logged.close()
    const refusal = lines
      .map((line) => JSON.parse(line))
      .find((l) => l.msg === 'connection refused')
    expect(refusal).toMatchObject({ path: '/ws/events', code: 4500, reason: 'token expired' })
    expect(lines.join('\n')).not.toContain(jwt.split('.')[2])
  })
})

describe('auth with a JWKS', () => {
  let jwks: Server
  let url: string
  let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey']

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256')
    privateKey = pair.privateKey
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256' }
    jwks = createServer((_, res) => {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ keys: [publicJwk] }))
    })
    jwks.listen(0, '127.0.0.1')
    await new Promise((resolve) => jwks.once('listening', resolve))
    url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`
  })
  afterAll(() => new Promise<void>((resolve) => jwks.close(() => resolve())))

  it('accepts RS256 tokens signed by a published key and refuses HS256 ones', async () => {
    const authenticator = createAuthenticator({
      kind: 'jwks',
      url: new URL(url),
      issuer: undefined,
      audience: undefined,
    })
    const rs = await new SignJWT({ sub: 'dave' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setExpirationTime('5m')
      .sign(privateKey)
    expect(await authenticator.authenticate(rs)).toEqual({
      ok: true,
      principal: {
        userId: 'dave',
        grants: undefined,
        scopes: new Set(),
        expiresAt: expect.any(Number),
      },
    })
    expect(await authenticator.authenticate(await token({ sub: 'dave' }))).toEqual({
      ok: false,
      closeCode: CloseCode.UNAUTHORIZED,
      reason: 'token algorithm not allowed',
    })
  })

  it('cuts an upgrade whose token cannot be checked within UPGRADE_TIMEOUT_S', async () => {
    // A JWKS host that accepts and never answers.
    const held: Socket[] = []
    const silent = createNetServer((socket) => held.push(socket))
    silent.listen(0, '127.0.0.1')
    await once(silent, 'listening')
    const port = (silent.address() as AddressInfo).port
    const gateway = await startGateway(
      { AUTH_JWKS_URL: `http://127.0.0.1:${port}/jwks.json`, UPGRADE_TIMEOUT_S: '0.5' },
      { bridge: createBusBridge(createMemoryBus()) },
    )
    try {
      const rs = await new SignJWT({ sub: 'dave' })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setExpirationTime('5m')
        .sign(privateKey)
      const started = Date.now()
      const client = new TestClient(gateway.wsUrl(`?token=${rs}`))
      expect((await client.closed).code).toBe(1006)
      expect(Date.now() - started).toBeGreaterThanOrEqual(400)
      expect(client.received).toEqual([])
      await until(() => gateway.gateway.stats().pending_connections === 0, 'the socket gone')
    } finally {
      await gateway.close()
      for (const socket of held) socket.destroy()
      silent.close()
    }
  })

  it('closes with 1011 (retry) when the JWKS cannot be fetched', async () => {
    const authenticator = createAuthenticator({
      kind: 'jwks',
      url: new URL('http://127.0.0.1:1/jwks.json'),
      issuer: undefined,
      audience: undefined,
    })
    const rs = await new SignJWT({ sub: 'dave' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setExpirationTime('5m')
      .sign(privateKey)
    expect(await authenticator.authenticate(rs)).toEqual({
      ok: false,
      closeCode: 1011,
      reason: 'token could not be checked',
    })
  })
})

describe('checkAccess', () => {
  const alice: Principal = { userId: 'alice', grants: undefined, scopes: new Set(), expiresAt: 0 }
  const limited: Principal = { ...alice, grants: ['events:tasks', 'events:market:*'] }
  it.each([
    [undefined, 'events:tasks', undefined],
    [undefined, 'events:user:alice', 'events:user:alice needs an authenticated connection'],
    [alice, 'events:user:alice', undefined],
    [alice, 'events:user:bob', 'events:user:bob belongs to another user'],
    [alice, 'events:market', undefined],
    [limited, 'events:tasks', undefined],
    [limited, 'events:market:000001', undefined],
    [limited, 'events:user:alice', undefined],
    [limited, 'events:market', "the token's channels claim does not grant events:market"],
    [limited, 'events:indicators', "the token's channels claim does not grant events:indicators"],
  ])('%o on %s', (principal, name, message) => {
    const parsed = parseChannel(name)
    if (!parsed.ok) throw new Error(parsed.reason)
    expect(checkAccess(principal, parsed.channel)).toEqual(
      message === undefined ? undefined : { code: 'forbidden_channel', message },
    )
  })
})
