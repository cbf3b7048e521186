import { barsTableNames, tableName } from '@stockpulse/config'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { createDailyBarsReader } from './daily-bars-reader.js'
import { createThreadPool } from './executor.js'
import { createIndicatorValuesWriter } from './indicator-values.js'
import type { JobParams } from './job.js'
import { migrate } from './migrate.js'
import { seedDailyBars } from './seed-daily-bars.js'
import { syntheticCodes } from './synthetic.js'
import { useTestDatabase } from './test-support/database.js'
import { THREAD_URL } from './test-support/events.js'
import { runJob, valuesByCode } from './test-support/jobs.js'

const logger = pino({ level: 'silent' })
const DATE = '2026-01-09'
const INDICATORS = ['SMA_5', 'SMA_20', 'SMA_60', 'MACD', 'RSI', 'BBANDS', 'ATR', 'KDJ']
const OUTPUTS = 1 + 1 + 1 + 3 + 1 + 3 + 1 + 3
const names = { bars: barsTableNames('daily_bars'), values: tableName('indicator_values') }

describe('postgres source and sink', () => {
  const db = useTestDatabase()

  const postgresJob = (stocks: number | undefined, taskId: string): JobParams => ({
    taskId,
    source: { kind: 'postgres', stocks, days: 120, date: DATE },
    indicators: INDICATORS,
    concurrency: 1,
  })
  const deps = () => ({
    bars: createDailyBarsReader(db(), names.bars),
    values: createIndicatorValuesWriter(db(), names.values),
  })

  it('fails a task at its start, naming the migrate command, while the tables are missing', async () => {
    const { summary } = await runJob(postgresJob(10, 'pg_missing'), deps())
    expect(summary).toMatchObject({
      status: 'failed',
      total: 0,
      message:
        'failed: table indicator_values (the indicator values) does not exist: create it with the migrate command (pnpm worker migrate in the repository)',
    })
    const { summary: noBars } = await runJob(postgresJob(10, 'pg_missing_bars'), {
      bars: deps().bars,
    })
    expect(noBars.message).toBe(
      'failed: table daily_bars (the bars) does not exist: create it with the migrate command (pnpm worker migrate in the repository)',
    )
    // migrate creates both tables once, and is idempotent.
    expect(await migrate(db(), names)).toEqual(['daily_bars', 'indicator_values'])
    expect(await migrate(db(), names)).toEqual([])
  })

  it('reads seeded bars into the same results as the synthetic source, and stores them', async () => {
    // 700 stocks: position 100 has a short history, 600 a NaN high (a corrupt row here).
    const stocks = 700
    const seeded = { stocks, days: 120, seed: 11, date: DATE }
    await migrate(db(), names)
    expect(await seedDailyBars(db(), names.bars, seeded)).toBeGreaterThan(stocks * 100)
    const synthetic = await runJob({
      taskId: 'pg_synthetic',
      source: { kind: 'synthetic', ...seeded },
      indicators: INDICATORS,
      concurrency: 1,
    })
    const pool = createThreadPool({ threads: 2, threadUrl: THREAD_URL })
    try {
      const { summary, results } = await runJob(
        { ...postgresJob(undefined, 'pg_task'), concurrency: 2 },
        { ...deps(), executor: () => pool },
      )
      expect(summary).toMatchObject({
        status: 'completed',
        total: stocks,
        success: stocks - 2,
        values_written: (stocks - 2) * OUTPUTS,
      })
      const codes = syntheticCodes(stocks)
      const byCode = (code: string) => results.find((result) => result.stock_code === code)!
      const nan = byCode(codes[600]!)
      expect(nan.errors).toEqual([
        { reason: expect.stringMatching(/^daily_bars \d{6} \d{4}-\d{2}-\d{2}: high is NaN$/) },
      ])
      expect(byCode(codes[100]!).errors?.[0]?.reason).toMatch(/^too short history: 20 bars/)
      expect(results.map((result) => result.stock_code)).toEqual(codes.toSorted())
      // The synthetic source fails only ATR and KDJ of the NaN stock; every other value agrees.
      const expected = valuesByCode(
        synthetic.results.filter((r) => r.stock_code !== nan.stock_code),
      )
      expect(valuesByCode(results)).toEqual(expected)

      const { rows } = await db().query<{
        stock_code: string
        indicator: string
        output: string
        value: number
        trade_date: string
        task_id: string
      }>(
        `SELECT stock_code, indicator, output, value, to_char(trade_date, 'YYYY-MM-DD') AS trade_date, task_id FROM indicator_values`,
      )
      expect(rows).toHaveLength((stocks - 2) * OUTPUTS)
      const stored = new Map<string, Record<string, Record<string, number>>>()
      for (const row of rows) {
        const latest = stored.get(row.stock_code) ?? {}
        latest[row.indicator] = { ...latest[row.indicator], [row.output]: row.value }
        stored.set(row.stock_code, latest)
        expect(row.task_id).toBe('pg_task')
      }
      expect(stored).toEqual(expected)
      const trade = results.find((r) => r.stock_code === '000001')!
      expect(rows.find((row) => row.stock_code === '000001')?.trade_date).toBe(trade.trade_date)
    } finally {
      await pool.close()
    }
  })

  it('takes the first --stocks codes, and fails each corrupt stock with the row at fault', async () => {
    await migrate(db(), names)
    await seedDailyBars(db(), names.bars, { stocks: 3, days: 120, seed: 11, date: DATE })
    const bad: [string, string, string][] = [
      ['ZZ1', `open = NULL`, 'open is NULL'],
      ['ZZ2', `volume = -5`, 'volume must be >= 0, got -5'],
      ['ZZ3', `high = low - 1`, 'is below low'],
      ['ZZ4', `close = 0`, 'close must be > 0, got 0'],
      ['ZZ5', `low = 'Infinity'`, 'low is Infinity'],
    ]
    for (const [code, change] of bad) {
      await db().query(
        `INSERT INTO daily_bars SELECT $1, trade_date, open, high, low, close, volume FROM daily_bars WHERE stock_code = '000001'`,
        [code],
      )
      await db().query(
        `UPDATE daily_bars SET ${change} WHERE stock_code = $1 AND trade_date = (SELECT max(trade_date) - 7 FROM daily_bars WHERE stock_code = $1)`,
        [code],
      )
    }
    await db().query(
      `INSERT INTO daily_bars VALUES ('ZZ6', '2030-01-02', 1, 1, 1, 1, 1), ('bad code!', '2026-01-02', 1, 1, 1, 1, 1)`,
    )
    const { results: first } = await runJob(postgresJob(2, 'pg_first'), deps())
    expect(first.map((r) => r.stock_code)).toEqual(['000001', '000002'])
    const { summary, results } = await runJob(postgresJob(undefined, 'pg_corrupt'), deps())
    expect(results.map((r) => r.stock_code).filter((code) => code.startsWith('ZZ'))).toEqual([
      'ZZ1',
      'ZZ2',
      'ZZ3',
      'ZZ4',
      'ZZ5',
      'ZZ6',
    ])
    expect(summary.failed).toBeGreaterThanOrEqual(6)
    for (const [code, , reason] of bad) {
      expect(results.find((r) => r.stock_code === code)!.errors?.[0]?.reason).toMatch(
        new RegExp(
          `^daily_bars ${code} \\d{4}-\\d{2}-\\d{2}: .*${reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
        ),
      )
    }
    expect(results.find((r) => r.stock_code === 'ZZ6')?.errors).toEqual([
      { reason: `daily_bars ZZ6: no bars on or before ${DATE}` },
    ])
    expect(results.some((r) => r.stock_code === 'bad code!')).toBe(false)
  })

  it('a chunk that cannot be written fails the task, and says how many', async () => {
    await migrate(db(), names)
    await seedDailyBars(db(), names.bars, { stocks: 40, days: 120, seed: 11, date: DATE })
    await db().query(
      'ALTER TABLE indicator_values ADD CONSTRAINT refuse_all CHECK (value < -1e300) NOT VALID',
    )
    try {
      const { summary } = await runJob(postgresJob(40, 'pg_refused'), deps())
      expect(summary).toMatchObject({ status: 'failed', processed: 40, values_written: 0 })
      expect(summary.message).toMatch(
        /^failed: indicator values: \d+ of \d+ chunks not written \(new row for relation "indicator_values" violates check constraint "refuse_all"\)$/,
      )
    } finally {
      await db().query('ALTER TABLE indicator_values DROP CONSTRAINT refuse_all')
    }
  })

  it('lists the codes of a table without an index on them, and reads the same bars', async () => {
    await migrate(db(), names)
    await seedDailyBars(db(), names.bars, { stocks: 30, days: 120, seed: 11, date: DATE })
    await db().query(
      `CREATE TABLE plain_bars AS SELECT * FROM daily_bars WHERE stock_code IN (SELECT DISTINCT stock_code FROM daily_bars ORDER BY 1 LIMIT 30)`,
    )
    const read = (table: string) =>
      runJob(postgresJob(30, `pg_${table}`), {
        bars: createDailyBarsReader(db(), barsTableNames(table)),
      })
    const [plain, indexed] = [await read('plain_bars'), await read('daily_bars')]
    expect(plain.summary).toMatchObject({ status: 'completed', total: 30 })
    expect(plain.results.map((r) => r.stock_code)).toEqual(indexed.results.map((r) => r.stock_code))
    expect(valuesByCode(plain.results)).toEqual(valuesByCode(indexed.results))
  })

  it('works with a table and columns of other names', async () => {
    const custom = {
      bars: barsTableNames('market.bars', ['code', 'day', 'o', 'h', 'l', 'c', 'v']),
      values: tableName('market.values_out'),
    }
    await db().query('CREATE SCHEMA market')
    expect(await migrate(db(), custom)).toEqual(['market.bars', 'market.values_out'])
    await seedDailyBars(db(), custom.bars, { stocks: 20, days: 120, seed: 11, date: DATE })
    const { summary } = await runJob(postgresJob(undefined, 'pg_custom'), {
      bars: createDailyBarsReader(db(), custom.bars),
      values: createIndicatorValuesWriter(db(), custom.values),
    })
    expect(summary).toMatchObject({ status: 'completed', total: 20, values_written: 20 * OUTPUTS })
    const { rows } = await db().query<{ task_id: string }>(
      `SELECT DISTINCT task_id FROM market.values_out WHERE stock_code = '000001'`,
    )
    expect(rows).toEqual([{ task_id: 'pg_custom' }])
  })
})
