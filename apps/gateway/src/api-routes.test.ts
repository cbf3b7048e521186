import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ApiValidators, createMemoryBus, historyKeys, Scope } from '@stockpulse/events'
import { SignJWT } from 'jose'
import { createClient } from 'redis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createBusBridge } from './bus-bridge.js'
import { startGateway, type TestGateway, untilReady } from './test-support/gateway.js'
import { withRedis } from './test-support/redis.js'
import { runWorkerJob } from './test-support/worker-job.js'

const shared = withRedis()
const SECRET = 'api-routes-test-secret-of-32-bytes!'
let test: TestGateway | undefined
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'api-routes-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))
afterEach(async () => {
  await test?.close()
  test = undefined
})

async function get(path: string, token?: string) {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {}
  const res = await fetch(test!.httpUrl(path), { headers })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

describe('GET /api/stocks/{code}', () => {
  it("serves a stock's newest stored result, equal to the worker's --out line, with its snapshots", async () => {
    test = await startGateway({ REDIS_URL: shared.redis.url, KEY_PREFIX: 'stocks:' })
    await untilReady(test)
    const out = join(dir, 'second.jsonl')
    const common = { redisUrl: shared.redis.url, keyPrefix: 'stocks:', stocks: 30 }
    await runWorkerJob({ ...common, taskId: 'calc_first' }).expectExit(0)
    await runWorkerJob({ ...common, taskId: 'calc_second', extra: ['--out', out] }).expectExit(0)
    const lines = (await readFile(out, 'utf8')).trim().split('\n')
    const expected = JSON.parse(lines[7]!) as { stock_code: string }

    const { status, body } = await get(`/api/stocks/${expected.stock_code}`)
    expect(status).toBe(200)
    expect(ApiValidators.stockResults.Check(body)).toBe(true)
    expect(body).toMatchObject({
      stock_code: expected.stock_code,
      task_id: 'calc_second',
      result: expected,
    })
    // Both runs computed the same trade date: one snapshot for it, the newest run's.
    expect(body.snapshots).toEqual([
      expect.objectContaining({
        event_type: 'market.snapshot',
        stock_code: expected.stock_code,
        task_id: 'calc_second',
      }),
    ])
  })

  it('refuses a hostile code, says when no result is stored, and drops a stored result that breaks the contract', async () => {
    test = await startGateway({ REDIS_URL: shared.redis.url, KEY_PREFIX: 'hostile:' })
    await untilReady(test)
    for (const path of ['/api/stocks/..%2F..%2Fetc', '/api/stocks/%E0%A4%A', '/api/stocks/']) {
      expect(await get(path)).toEqual({
        status: 400,
        body: {
          error: 'invalid_stock_code',
          reason: 'A stock code is 1-64 characters of A-Z a-z 0-9 _ . -',
        },
      })
    }
    expect(await get('/api/nothing-here')).toEqual({
      status: 404,
      body: { error: 'not_found', reason: 'There is no /api/nothing-here endpoint.' },
    })
    expect(await get('/api/stocks/000001')).toEqual({
      status: 404,
      body: {
        error: 'stock_not_found',
        reason:
          "No running task or stored run holds a result for 000001 (results expire after the worker's WORKER_RESULT_TTL_S).",
      },
    })
    await runWorkerJob({
      redisUrl: shared.redis.url,
      keyPrefix: 'hostile:',
      taskId: 'calc_bad',
      stocks: 5,
    }).expectExit(0)
    const redis = createClient({ url: shared.redis.url })
    await redis.connect()
    await redis.hSet(historyKeys('hostile:').results('calc_bad'), '000001', '{"stock_code":1}')
    await redis.close()
    expect(await get('/api/stocks/000001')).toEqual({
      status: 502,
      body: {
        error: 'invalid_result',
        reason: 'The stored result of 000001 in calc_bad breaks the contract.',
      },
    })
    expect(test.gateway.stats().dropped_by_reason.invalid_history).toBe(1)
  })
})

describe('GET /api/session', () => {
  it('grants every scope with auth off, and says memory mode without Redis', async () => {
    test = await startGateway({ REDIS_URL: shared.redis.url })
    await untilReady(test)
    expect(await get('/api/session')).toEqual({
      status: 200,
      body: { auth: false, user_id: null, scopes: Object.values(Scope), mode: 'redis' },
    })
    await test.close()
    test = await startGateway({}, { bridge: createBusBridge(createMemoryBus()) })
    expect((await get('/api/session')).body).toMatchObject({ mode: 'memory' })
    expect(await get('/api/stocks/000001')).toEqual({
      status: 503,
      body: {
        error: 'needs_redis',
        reason:
          'Stored results need Redis: this gateway runs in memory mode (the one-process demo).',
      },
    })
  })

  it("with auth on, names the token's user and scopes, and refuses a request without one", async () => {
    test = await startGateway({ REDIS_URL: shared.redis.url, AUTH_JWT_SECRET: SECRET })
    await untilReady(test)
    const token = await new SignJWT({ sub: 'ops', scope: `${Scope.OPERATE} other` })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SECRET))
    expect(await get('/api/session', token)).toEqual({
      status: 200,
      body: { auth: true, user_id: 'ops', scopes: [Scope.OPERATE, 'other'], mode: 'redis' },
    })
    expect(await get('/api/session')).toEqual({
      status: 401,
      body: { error: 'unauthorized', reason: 'missing token' },
    })
    expect(await get('/api/stocks/000001')).toMatchObject({ status: 401 })
  })
})
