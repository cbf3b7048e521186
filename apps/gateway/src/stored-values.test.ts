import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ApiValidators, createMemoryBus } from '@stockpulse/events'
import {
  createTestDatabase,
  startNode,
  startRedisServer,
  type TestDatabase,
} from '@stockpulse/testing'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createBusBridge } from './bus-bridge.js'
import { startGateway, type TestGateway, untilReady } from './test-support/gateway.js'
import { WORKER_MAIN } from './test-support/worker-job.js'

const DATE = '2026-01-09'
const STOCKS = 30
const DAYS = 150

// GET /api/stocks/{code} with DATABASE_URL: the values and bars the worker stored in a real
// PostgreSQL (built worker CLI: migrate, seed-db, run --source postgres).
describe('stored-values', () => {
  let server: TestDatabase
  let client: pg.Client
  let dir: string
  let results: Map<string, { stock_code: string; trade_date: string; latest: unknown }>
  let test: TestGateway | undefined

  beforeAll(async () => {
    server = await createTestDatabase()
    client = new pg.Client({ connectionString: server.url })
    await client.connect()
    dir = await mkdtemp(join(tmpdir(), 'stored-values-'))
    const out = join(dir, 'out.jsonl')
    for (const args of [
      ['migrate'],
      ['seed-db', '--stocks', String(STOCKS), '--days', String(DAYS), '--date', DATE],
      ...[['run', '--source', 'postgres', '--date', DATE, '--task-id', 'pg_page', '--out', out]],
    ]) {
      const worker = startNode(WORKER_MAIN, args, {
        // No Redis there: `run` drops its events; the values go to PostgreSQL.
        env: { PATH: process.env.PATH, DATABASE_URL: server.url, REDIS_URL: 'redis://127.0.0.1:1' },
      })
      const { code } = await worker.exited
      expect(code, `${args[0]}: ${worker.stderr}`).toBe(0)
    }
    const lines = (await readFile(out, 'utf8')).trim().split('\n')
    results = new Map(
      lines.map((line) => {
        const result = JSON.parse(line) as {
          stock_code: string
          trade_date: string
          latest: unknown
        }
        return [result.stock_code, result]
      }),
    )
  }, 120_000)
  afterEach(async () => {
    await test?.close()
    test = undefined
  })
  afterAll(async () => {
    await client?.end()
    await server?.drop()
    await rm(dir, { recursive: true, force: true })
  })

  const get = async (path: string) => {
    const res = await fetch(test!.httpUrl(path))
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }
  const start = async () => {
    // Memory mode (no Redis bridge): the stock page needs only PostgreSQL.
    test = await startGateway(
      { DATABASE_URL: server.url },
      { bridge: createBusBridge(createMemoryBus()) },
    )
  }
  const failures = async () => {
    const text = await (await fetch(test!.httpUrl('/metrics'))).text()
    return Number(/^stockpulse_gateway_database_read_failures_total (\d+)$/m.exec(text)?.[1])
  }

  it("serves a stock's newest stored values, equal to the worker's --out line, and its bars up to that date", async () => {
    await start()
    const code = '000001'
    const expected = results.get(code)!
    const { status, body } = await get(`/api/stocks/${code}`)
    expect(status).toBe(200)
    expect(ApiValidators.stockResults.Check(body)).toBe(true)
    expect(body).toMatchObject({
      stock_code: code,
      task_id: 'pg_page',
      result: { stock_code: code, trade_date: DATE, latest: expected.latest },
    })
    const snapshots = body.snapshots as {
      trade_date: string
      task_id?: string
      bar: { close: number }
      indicators: unknown
    }[]
    expect(snapshots).toHaveLength(120)
    expect(snapshots.at(-1)).toMatchObject({
      trade_date: DATE,
      task_id: 'pg_page',
      indicators: expected.latest,
    })
    // Older dates: their bars, no values stored for them.
    const { rows } = await client.query<{ close: number }>(
      `SELECT close FROM daily_bars WHERE stock_code = $1 ORDER BY trade_date DESC LIMIT 1 OFFSET 1`,
      [code],
    )
    expect(snapshots.at(-2)).toMatchObject({ bar: { close: rows[0]!.close }, indicators: {} })
    expect(snapshots.at(-2)).not.toHaveProperty('task_id')
    const dates = snapshots.map((snapshot) => snapshot.trade_date)
    expect(dates).toEqual([...dates].sort())

    expect(await get('/api/stocks/NOPE')).toEqual({
      status: 404,
      body: {
        error: 'stock_not_found',
        reason:
          'No values are stored for NOPE in indicator_values (the worker writes them with --sink postgres).',
      },
    })
  })

  it('drops rows that break the contract: a bar with a NULL price, a task id that is not an id', async () => {
    await start()
    await client.query(
      `UPDATE daily_bars SET high = NULL WHERE stock_code = '000002' AND trade_date = $1::date - 1`,
      [DATE],
    )
    const { status, body } = await get('/api/stocks/000002')
    expect(status).toBe(200)
    expect((body.snapshots as unknown[]).length).toBe(119)
    await client.query(
      `INSERT INTO indicator_values VALUES ('EVIL', $1, '__proto__', 'x', 1, 'not an id!', now())`,
      [DATE],
    )
    expect(await get('/api/stocks/EVIL')).toEqual({
      status: 502,
      body: {
        error: 'invalid_result',
        reason: 'The values stored for EVIL in PostgreSQL break the contract.',
      },
    })
  })

  it('serves the newer of PostgreSQL and Redis, and a stock only Redis holds', async () => {
    const redis = await startRedisServer()
    try {
      // Runs without --sink postgres: their results are only in Redis, each under a prefix.
      const runInRedis = async (prefix: string, date: string, taskId: string) => {
        const out = join(dir, `${taskId}.jsonl`)
        const args = ['run', '--stocks', String(STOCKS + 5), '--days', '100', '--date', date]
        const worker = startNode(
          WORKER_MAIN,
          [...args, '--task-id', taskId, '--key-prefix', prefix, '--out', out],
          { env: { PATH: process.env.PATH, REDIS_URL: redis.url } },
        )
        const { code } = await worker.exited
        expect(code, worker.stderr).toBe(0)
        return (await readFile(out, 'utf8'))
          .trim()
          .split('\n')
          .map((line) => (JSON.parse(line) as { stock_code: string }).stock_code)
      }
      await runInRedis('newer:', '2026-01-12', 'redis_newer')
      const codes = await runInRedis('older:', '2026-01-05', 'redis_older')
      const both = { DATABASE_URL: server.url, REDIS_URL: redis.url }

      test = await startGateway({ ...both, KEY_PREFIX: 'newer:' })
      await untilReady(test)
      expect(await get('/api/stocks/000001')).toMatchObject({
        status: 200,
        body: { task_id: 'redis_newer', result: { trade_date: '2026-01-12' } },
      })
      await test.close()

      test = await startGateway({ ...both, KEY_PREFIX: 'older:' })
      await untilReady(test)
      expect(await get('/api/stocks/000001')).toMatchObject({
        status: 200,
        body: { task_id: 'pg_page', result: { trade_date: DATE } },
      })
      const onlyInRedis = codes.find((code) => !results.has(code))!
      expect(onlyInRedis).toBeDefined()
      const { status, body } = await get(`/api/stocks/${onlyInRedis}`)
      expect(status).toBe(200)
      expect(ApiValidators.stockResults.Check(body)).toBe(true)
      expect(body).toMatchObject({ task_id: 'redis_older', result: { trade_date: '2026-01-05' } })
      expect(await get('/api/stocks/NOPE')).toEqual({
        status: 404,
        body: {
          error: 'stock_not_found',
          reason:
            "No values are stored for NOPE in indicator_values (the worker writes them with --sink postgres). No running task or stored run holds a result for NOPE (results expire after the worker's WORKER_RESULT_TTL_S).",
        },
      })
      // PostgreSQL without its table: Redis still answers for what it holds.
      await client.query('ALTER TABLE indicator_values RENAME TO indicator_values_away')
      try {
        expect(await get(`/api/stocks/${onlyInRedis}`)).toMatchObject({ status: 200 })
        expect(await get('/api/stocks/NOPE')).toMatchObject({
          status: 503,
          body: { error: 'database_unavailable' },
        })
      } finally {
        await client.query('ALTER TABLE indicator_values_away RENAME TO indicator_values')
      }
    } finally {
      await test?.close()
      test = undefined
      await redis.stop()
    }
  })

  it("reads the tables under the worker's names: BARS_TABLE, BARS_COLUMNS, VALUES_TABLE", async () => {
    const names = {
      BARS_TABLE: 'market.bars',
      BARS_COLUMNS: 'code,day,o,h,l,c,v',
      VALUES_TABLE: 'market.values_by_day',
    }
    await client.query('CREATE SCHEMA market')
    // The same variables for the worker, which creates, fills and writes them, and the gateway.
    for (const args of [
      ['migrate'],
      ['seed-db', '--stocks', '3', '--days', String(DAYS), '--date', DATE],
      ['run', '--source', 'postgres', '--date', DATE, '--task-id', 'pg_named'],
    ]) {
      const worker = startNode(WORKER_MAIN, args, {
        env: {
          PATH: process.env.PATH,
          DATABASE_URL: server.url,
          REDIS_URL: 'redis://127.0.0.1:1',
          ...names,
        },
      })
      const { code } = await worker.exited
      expect(code, `${args[0]}: ${worker.stderr}`).toBe(0)
    }
    test = await startGateway(
      { DATABASE_URL: server.url, ...names },
      { bridge: createBusBridge(createMemoryBus()) },
    )
    const { status, body } = await get('/api/stocks/000001')
    expect(status).toBe(200)
    expect(body).toMatchObject({
      task_id: 'pg_named',
      result: { trade_date: DATE, latest: results.get('000001')!.latest },
    })
    const snapshots = body.snapshots as { bar: { close: number } }[]
    const { rows } = await client.query<{ c: number }>(
      `SELECT c FROM market.bars WHERE code = '000001' ORDER BY day DESC LIMIT 1`,
    )
    expect(snapshots).toHaveLength(120)
    expect(snapshots.at(-1)).toMatchObject({ bar: { close: rows[0]!.c } })
    await test.close()
    // A column the table does not have: a configuration error, said as one.
    test = await startGateway(
      { DATABASE_URL: server.url, ...names, BARS_COLUMNS: 'code,day,o,h,l,c,volume' },
      { bridge: createBusBridge(createMemoryBus()) },
    )
    expect(await get('/api/stocks/000001')).toEqual({
      status: 503,
      body: {
        error: 'database_unavailable',
        reason:
          'Stored values cannot be read: the tables do not match VALUES_TABLE, BARS_TABLE and BARS_COLUMNS (PostgreSQL error 42703).',
      },
    })
  })

  it('answers 503 with a reason and counts it when PostgreSQL cannot answer, then recovers', async () => {
    await start()
    expect(await failures()).toBe(0)
    await client.query('ALTER TABLE indicator_values RENAME TO indicator_values_away')
    try {
      expect(await get('/api/stocks/000001')).toEqual({
        status: 503,
        body: {
          error: 'database_unavailable',
          reason:
            'Stored values cannot be read: a table is missing in PostgreSQL (create it with stockpulse-worker migrate).',
        },
      })
    } finally {
      await client.query('ALTER TABLE indicator_values_away RENAME TO indicator_values')
    }
    // A lock held past the statement timeout: the server cancels the query.
    const locker = new pg.Client({ connectionString: server.url })
    await locker.connect()
    try {
      await locker.query('BEGIN')
      await locker.query('LOCK TABLE indicator_values IN ACCESS EXCLUSIVE MODE')
      expect(await get('/api/stocks/000001')).toEqual({
        status: 503,
        body: {
          error: 'database_unavailable',
          reason: 'Stored values cannot be read: PostgreSQL did not answer within 2 s or is down.',
        },
      })
      await locker.query('ROLLBACK')
    } finally {
      await locker.end()
    }
    expect(await failures()).toBe(2)
    expect((await get('/api/stocks/000001')).status).toBe(200)
  })
})
