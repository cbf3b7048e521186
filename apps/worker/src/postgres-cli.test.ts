import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  createTestDatabase,
  freePort,
  startNode,
  type TestDatabase,
  until,
} from '@stockpulse/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StockResult } from './result-file.js'
import { createSyntheticLoader, FAILURE_PERIOD, syntheticCodes } from './synthetic.js'
import { dialectFile } from './test-support/dialect-files.js'

const bin = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const STOCKS = 5_000
const DAYS = 250
const DATE = '2026-01-09'
// The default indicators' outputs: SMA_5/10/20/60, MACD (3), RSI, BBANDS (3), ATR, KDJ (3).
const OUTPUTS = 4 + 3 + 1 + 3 + 1 + 3
// The synthetic source plants a short history and a NaN high in every FAILURE_PERIOD stocks.
const FAILING = (STOCKS / FAILURE_PERIOD) * 2
const ROWS = (STOCKS - FAILING) * OUTPUTS

describe('postgres through the CLI (5,000 stocks x 250 days)', () => {
  let server: TestDatabase
  let client: pg.Client
  let dir: string
  let redis: string
  const env = () => ({ DATABASE_URL: server.url, REDIS_URL: redis, WORKER_CACHE_TTL_S: '0' })
  const count = async (sql: string) => Number((await client.query(sql)).rows[0]?.n)

  beforeAll(async () => {
    server = await createTestDatabase()
    client = new pg.Client({ connectionString: server.url })
    await client.connect()
    // No Redis there: events are dropped, results are what this test reads.
    redis = `redis://127.0.0.1:${await freePort()}`
    dir = await mkdtemp(join(tmpdir(), 'stockpulse-pg-cli-'))
    const migrated = await cli(['migrate'], env())
    expect(migrated, migrated.stderr).toMatchObject({
      code: 0,
      stdout: 'created daily_bars and indicator_values\n',
    })
    const seeded = await cli(
      ['seed-db', '--stocks', String(STOCKS), '--days', String(DAYS), '--date', DATE],
      env(),
    )
    expect(seeded.code, seeded.stderr).toBe(0)
    expect(seeded.stdout).toMatch(
      new RegExp(
        `^wrote \\d+ bars of ${STOCKS} synthetic stocks \\(seed 42, up to ${DATE}\\) into daily_bars in [\\d.]+ s\\n$`,
      ),
    )
    // The same bars as one csv file per stock.
    await mkdir(join(dir, 'csv'))
    const load = createSyntheticLoader({ seed: 42, days: DAYS, date: DATE })
    for (const [index, code] of syntheticCodes(STOCKS).entries()) {
      await writeFile(join(dir, 'csv', `${code}.csv`), dialectFile('stockpulse', load(code, index)))
    }
  }, 120_000)
  afterAll(async () => {
    await client?.end()
    await server?.drop()
    await rm(dir, { recursive: true, force: true })
  })

  it('gives the --out values of the same bars as csv, and stores exactly them', async () => {
    const args = ['run', '--date', DATE, '--json']
    const fromDb = await cli(
      [...args, '--source', 'postgres', '--out', join(dir, 'pg.jsonl')],
      env(),
    )
    expect(fromDb.code, fromDb.stderr).toBe(0)
    expect(JSON.parse(fromDb.stdout)).toMatchObject({
      status: 'completed',
      total: STOCKS,
      failed: FAILING,
      values_written: ROWS,
    })
    const fromCsv = await cli(
      [...args, '--source', 'csv', '--data', join(dir, 'csv'), '--out', join(dir, 'csv.jsonl')],
      env(),
    )
    expect(fromCsv.code, fromCsv.stderr).toBe(0)
    const ours = await latestByCode(join(dir, 'pg.jsonl'))
    expect(ours.size).toBe(STOCKS - FAILING)
    expect(await latestByCode(join(dir, 'csv.jsonl'))).toEqual(ours)

    expect(await count('SELECT count(*) AS n FROM indicator_values')).toBe(ROWS)
    const { rows } = await client.query<{
      code: string
      id: string
      output: string
      value: number
    }>('SELECT stock_code AS code, indicator AS id, output, value FROM indicator_values')
    const mismatches = rows.filter(
      (row) => ours.get(row.code)?.[row.id]?.[row.output] !== row.value,
    )
    expect(mismatches).toEqual([])
  }, 120_000)

  it('SIGKILL mid-run leaves only whole stocks; the rerun completes the date', async () => {
    await client.query('TRUNCATE indicator_values')
    const worker = startNode(
      bin,
      ['run', '--source', 'postgres', '--date', DATE, '--pace', '2500'],
      {
        env: { ...process.env, ...env() },
      },
    )
    try {
      await until(
        async () => (await count('SELECT count(*) AS n FROM indicator_values')) > 0,
        'the first chunk in indicator_values',
        60_000,
      )
    } finally {
      worker.kill('SIGKILL')
      await worker.exited
    }
    const stderr = () => worker.stderr
    const written = await count('SELECT count(*) AS n FROM indicator_values')
    expect(written, stderr()).toBeLessThan(ROWS)
    const partial = await client.query(
      `SELECT stock_code, count(*) FROM indicator_values GROUP BY stock_code HAVING count(*) <> ${OUTPUTS}`,
    )
    expect(partial.rows).toEqual([])

    const rerun = await cli(['run', '--source', 'postgres', '--date', DATE], env())
    expect(rerun.code, rerun.stderr).toBe(0)
    expect(await count('SELECT count(*) AS n FROM indicator_values')).toBe(ROWS)
  }, 120_000)
})

// ---- Helpers ----

// Runs the built CLI to its end.
async function cli(args: string[], env: Record<string, string>) {
  const run = startNode(bin, args, { env: { ...process.env, ...env } })
  const { code } = await run.exited
  return { code, stdout: run.stdout, stderr: run.stderr }
}

// A results file's values by stock, for the stocks that have any.
async function latestByCode(path: string) {
  const results = (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as StockResult)
  return new Map(
    results
      .filter((result) => Object.keys(result.latest).length > 0)
      .map((result) => [result.stock_code, result.latest] as const),
  )
}
