import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { barsTableNames, tableName } from '@stockpulse/config'
import { createRunQueue, runKeys } from '@stockpulse/runs'
import {
  createTestDatabase,
  type NodeProcess,
  startNode,
  type TestDatabase,
  until,
} from '@stockpulse/testing'
import pg from 'pg'
import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createDatabase } from './database.js'
import { migrate } from './migrate.js'
import { seedDailyBars } from './seed-daily-bars.js'
import { createSyntheticLoader, syntheticCodes } from './synthetic.js'
import { dialectFile } from './test-support/dialect-files.js'
import { uniqueId } from './test-support/events.js'
import { useSharedRedis } from './test-support/redis.js'

const bin = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const STOCKS = 1_000
const DAYS = 250
const SEED = 42
const DATE = '2026-01-09'
const CHUNK_STOCKS = 50
const REDIS = 'redis://127.0.0.1:6379'

interface ValueRow {
  readonly stock_code: string
  readonly trade_date: string
  readonly indicator: string
  readonly output: string
  readonly value: number
  readonly task_id: string
}

// Queued runs (`serve` + `submit`, built CLIs) of the postgres source, a single csv file and the
// postgres sink, against `run` on the same bars: real Redis, real PostgreSQL.
describe('postgres and csv files through the queue', () => {
  const prefix = `${uniqueId('pgqueue')}:`
  const redis = useSharedRedis(prefix)
  const keys = runKeys(prefix)
  let server: TestDatabase
  let client: pg.Client
  let dir: string
  let expected: Omit<ValueRow, 'task_id'>[]
  let processes: NodeProcess[] = []
  const env = () => ({ DATABASE_URL: server.url, REDIS_URL: REDIS, WORKER_CACHE_TTL_S: '0' })

  beforeAll(async () => {
    server = await createTestDatabase()
    client = new pg.Client({ connectionString: server.url })
    await client.connect()
    const database = createDatabase(server.url, pino({ level: 'silent' }))
    const names = { bars: barsTableNames('daily_bars'), values: tableName('indicator_values') }
    try {
      await migrate(database, names)
      await seedDailyBars(database, names.bars, {
        stocks: STOCKS,
        days: DAYS,
        seed: SEED,
        date: DATE,
      })
    } finally {
      await database.end()
    }
    // The same bars as one long csv file, stocks in reverse order (the file's order is free).
    dir = await mkdtemp(join(tmpdir(), 'stockpulse-pg-queue-'))
    const load = createSyntheticLoader({ seed: SEED, days: DAYS, date: DATE })
    const blocks = syntheticCodes(STOCKS).map((code, index) =>
      dialectFile('long', load(code, index), false),
    )
    await writeFile(
      join(dir, 'bars.csv'),
      `code,date,open,high,low,close,volume\n${blocks.reverse().join('')}`,
    )

    // What `run` stores for these bars: the rows every queued run must match.
    const run = startNode(bin, ['run', '--source', 'postgres', '--date', DATE], {
      env: { ...process.env, ...env(), REDIS_URL: `redis://127.0.0.1:1` },
    })
    const { code } = await run.exited
    expect(code, run.stderr).toBe(0)
    expected = (await rows()).map(({ task_id: _, ...row }) => row)
    expect(expected.length).toBeGreaterThan(STOCKS * 10)
  }, 120_000)
  afterEach(async () => {
    await Promise.all(processes.map((child) => child.stop()))
    processes = []
  })
  afterAll(async () => {
    await client?.end()
    await server?.drop()
    await rm(dir, { recursive: true, force: true })
  })

  const rows = async () =>
    (
      await client.query<ValueRow>(
        `SELECT stock_code, to_char(trade_date, 'YYYY-MM-DD') AS trade_date, indicator, output, value, task_id
        FROM indicator_values ORDER BY stock_code, indicator, output`,
      )
    ).rows
  const serve = (id: string, args: readonly string[]) => {
    const child = startNode(
      bin,
      [
        ...['serve', '--key-prefix', prefix, '--instance-id', id, '--heartbeat', '1'],
        ...['--concurrency', '1', '--chunk-stocks', String(CHUNK_STOCKS), '--log-level', 'info'],
        ...args,
      ],
      { env: { ...process.env, ...env() } },
    )
    processes.push(child)
    return child
  }
  // Two workers serving, and a run of DATE submitted to them.
  const startRun = async (taskId: string, args: readonly string[], pace?: number) => {
    const workers = [serve(`${taskId}_1`, args), serve(`${taskId}_2`, args)]
    await Promise.all(workers.map((w) => w.waitFor('"msg":"worker serving"', 'a worker serving')))
    const queue = createRunQueue({ url: REDIS, prefix })
    try {
      const outcome = await queue.submit(
        { task_id: taskId },
        { trigger: 'test', date: DATE, ...(pace === undefined ? {} : { pace }) },
      )
      expect(outcome).toEqual({ status: 202, body: { task_id: taskId } })
    } finally {
      await queue.close()
    }
    return workers
  }
  const runDone = (taskId: string, workers: readonly NodeProcess[]) =>
    until(
      async () => (await redis().hGet(keys.state(taskId), 'state')) === 'done',
      `run ${taskId} to be done`,
      120_000,
    ).catch((error: Error) => {
      const logs = workers.map((w) => w.stderr).join('\n')
      throw new Error(`${error.message}; the workers said:\n${logs}`)
    })
  // A run over two workers, to its end; both took chunks.
  const queuedRun = async (taskId: string, args: readonly string[]) => {
    const workers = await startRun(taskId, args)
    await runDone(taskId, workers)
    const chunks = STOCKS / CHUNK_STOCKS
    let done: number[] = []
    await until(
      async () => {
        const registry = await redis().hGetAll(keys.workers)
        done = workers.map((_, i) => {
          const info = registry[`${taskId}_${i + 1}`]
          return info ? (JSON.parse(info) as { chunks_done: number }).chunks_done : 0
        })
        return done[0]! + done[1]! === chunks
      },
      `the heartbeats to count the ${chunks} chunks`,
      20_000,
    )
    expect(
      done.every((count) => count > 0),
      `chunks per worker: ${done}`,
    ).toBe(true)
    return redis().hGetAll(keys.state(taskId))
  }

  it('stores exactly what run stores, from the postgres source over two serve workers', async () => {
    await client.query('TRUNCATE indicator_values')
    const state = await queuedRun('pgq_source', ['--source', 'postgres'])
    expect(state).toMatchObject({ total: String(STOCKS), processed: String(STOCKS) })
    const stored = await rows()
    expect(stored.map(({ task_id: _, ...row }) => row)).toEqual(expected)
    expect(new Set(stored.map((row) => row.task_id))).toEqual(new Set(['pgq_source']))
  }, 180_000)

  it('reads one long csv file on every worker and stores the same values', async () => {
    await client.query('TRUNCATE indicator_values')
    const args = ['--source', 'csv', '--data', join(dir, 'bars.csv'), '--sink', 'postgres']
    const state = await queuedRun('pgq_csv', args)
    expect(state).toMatchObject({ total: String(STOCKS), processed: String(STOCKS) })
    const stored = await rows()
    expect(stored.map(({ task_id: _, ...row }) => row)).toEqual(expected)
    expect(new Set(stored.map((row) => row.task_id))).toEqual(new Set(['pgq_csv']))
  }, 180_000)

  it('SIGKILL of a worker mid-chunk leaves only whole stocks; the retried chunk completes the run', async () => {
    await client.query('TRUNCATE indicator_values')
    const taskId = 'pgq_kill'
    const ids = [`${taskId}_1`, `${taskId}_2`]
    // Paced (100 stocks a second per worker): values are written, then published slowly.
    const workers = await startRun(taskId, ['--source', 'postgres', '--stall-timeout', '2'], 100)
    let victim: NodeProcess | undefined
    await until(
      async () => {
        const registry = await redis().hGetAll(keys.workers)
        const busy = ids.find((id) => {
          const info = registry[id]
          const chunk = info ? (JSON.parse(info) as { current_chunk?: string }).current_chunk : ''
          return chunk?.startsWith(`${taskId}#`)
        })
        victim = busy === undefined ? undefined : workers[ids.indexOf(busy)]
        return victim !== undefined
      },
      'a worker with a chunk in flight',
      60_000,
    )
    victim!.kill('SIGKILL')
    await victim!.exited
    // Each stock stored has all of its rows (as many as `run` stores for it), or none.
    const perStock = new Map<string, number>()
    for (const row of expected)
      perStock.set(row.stock_code, (perStock.get(row.stock_code) ?? 0) + 1)
    const { rows: counts } = await client.query<{ code: string; n: number }>(
      'SELECT stock_code AS code, count(*)::int AS n FROM indicator_values GROUP BY stock_code',
    )
    expect(counts.filter(({ code, n }) => perStock.get(code) !== n)).toEqual([])
    await runDone(taskId, workers)
    const state = await redis().hGetAll(keys.state(taskId))
    expect(state).toMatchObject({ total: String(STOCKS), processed: String(STOCKS) })
    const stored = await rows()
    expect(stored.map(({ task_id: _, ...row }) => row)).toEqual(expected)
    const stalled = workers
      .find((worker) => worker !== victim)!
      .stderr.includes('"msg":"job stalled: its worker went silent; taken over"')
    expect(stalled, 'the survivor took the chunk over').toBe(true)
  }, 180_000)
})
