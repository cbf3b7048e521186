import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { epochDay } from './bars.js'
import { parseCsvBars } from './csv.js'
import { csvLayout } from './csv-dialects.js'
import { createSyntheticLoader, syntheticCodes } from './synthetic.js'
import { dialectFile, HEADERS, tsCode, type VendorDialect } from './test-support/dialect-files.js'
import { runJob, valuesByCode } from './test-support/jobs.js'

const spec = { seed: 7, days: 120, date: '2026-01-09' }
const load = createSyntheticLoader(spec)
const STOCKS = 40
const codes = syntheticCodes(STOCKS)
const bars = codes.map((code, i) => load(code, i))
const DIALECTS: VendorDialect[] = ['stockpulse', 'tushare', 'akshare', 'yahoo', 'long']
const INDICATORS = ['SMA_5', 'SMA_20', 'SMA_60', 'MACD', 'RSI', 'BBANDS', 'ATR', 'KDJ']

describe('csv dialects', () => {
  it.each([
    ['stockpulse', HEADERS.stockpulse],
    ['tushare', HEADERS.tushare],
    ['akshare', HEADERS.akshare],
    ['akshare', `,${HEADERS.akshare}`],
    ['yahoo', HEADERS.yahoo],
    ['long', HEADERS.long],
    ['long', 'stock_code,trade_date,open,high,low,close,volume'],
  ])('detects %s from %s', (dialect, header) => {
    expect(csvLayout(header, 'auto')).toMatchObject({ dialect })
  })

  it('names what a header lacks', () => {
    expect(csvLayout('date;open', 'auto')).toBe(
      'unknown header "date;open": expected date,open,high,low,close,volume, or a tushare, akshare, Yahoo or long (code column) header; see --csv-dialect',
    )
    expect(csvLayout(HEADERS.stockpulse, 'tushare')).toBe(
      'the tushare header needs a trade_date column, got "date,open,high,low,close,volume"',
    )
    expect(csvLayout(HEADERS.stockpulse, 'long')).toBe(
      'the long header needs a code or stock_code column, got "date,open,high,low,close,volume"',
    )
  })

  it.each(DIALECTS)(
    '%s: a file of our bars reads back as the same bars, in any row order',
    (dialect) => {
      for (const stock of bars.slice(0, 5)) {
        const read = parseCsvBars(stock.code, dialectFile(dialect, stock))
        expect(Array.from(read.dates)).toEqual(Array.from(stock.dates))
        expect(Array.from(read.data)).toEqual(Array.from(stock.data))
      }
    },
  )

  it('yahoo: a row of nulls is a day without trading; a null among numbers is an error', () => {
    const text = `${HEADERS.yahoo}\n2026-01-05,1,2,0.5,1.5,1.4,100\n2026-01-06,null,null,null,null,null,null\n2026-01-07,1,null,0.5,1.5,1.4,100\n`
    expect(() => parseCsvBars('AAPL', text)).toThrow(
      'AAPL.csv line 4: high is not a number: "null"',
    )
    const read = parseCsvBars('AAPL', text.split('\n').slice(0, 3).join('\n'))
    expect(read.dates).toHaveLength(1)
    expect(Array.from(read.close)).toEqual([1.5])
  })

  it('tushare: YYYYMMDD dates, volume in lots of 100 shares; the window keeps the last days', () => {
    const text = `${HEADERS.tushare}\n000001.SZ,20260107,10,11,9,10.5,10,0.5,5,1234.5,0\n000001.SZ,20260106,9,10,8,10,9,1,10,20,0\n000001.SZ,20260105,9,10,8,9,9,0,0,30,0\n`
    const read = parseCsvBars('000001', text, {
      lastDay: epochDay('2026-01-06')!,
      days: 1,
      dialect: 'tushare',
    })
    expect(Array.from(read.dates)).toEqual([epochDay('2026-01-06')])
    expect(Array.from(read.volume)).toEqual([2000])
    expect(() => parseCsvBars('000001', text.replace('20260105', '2026-01-05'))).toThrow(
      '000001.csv line 4: date "2026-01-05" is not a YYYYMMDD date',
    )
  })

  describe('the same bars in every dialect give the same results', () => {
    let root: string
    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), 'stockpulse-dialects-'))
      for (const dialect of DIALECTS) {
        await mkdir(join(root, dialect))
        for (const stock of bars) {
          await writeFile(join(root, dialect, `${stock.code}.csv`), dialectFile(dialect, stock))
        }
      }
      // One long file of our columns, rows in reverse (any order is sorted), and a tushare one.
      const long = bars.flatMap((stock) => dialectFile('long', stock, false).trim().split('\n'))
      await writeFile(join(root, 'long.csv'), `${HEADERS.long}\n${long.reverse().join('\n')}\n`)
      const tushare = bars.flatMap((stock) =>
        dialectFile('tushare', stock, false).trim().split('\n'),
      )
      await writeFile(join(root, 'tushare.csv'), `${HEADERS.tushare}\n${tushare.join('\n')}\n`)
    })
    afterAll(async () => {
      await rm(root, { recursive: true, force: true })
    })

    const run = async (path: string, dialect: 'auto' | VendorDialect = 'auto') => {
      const { summary, results } = await runJob({
        taskId: `dialect_${dialect}`,
        source: { kind: 'csv', path, stocks: undefined, days: 250, date: spec.date, dialect },
        indicators: INDICATORS,
        concurrency: 1,
      })
      expect(summary).toMatchObject({ status: 'completed', total: STOCKS })
      return results
    }

    it('per-stock files, a long file and a tushare long file (codes 000001.SZ)', async () => {
      const ours = valuesByCode(await run(join(root, 'stockpulse')))
      // One stock in a thousand has too short a history; here all of them have values.
      expect(ours.size).toBe(STOCKS)
      for (const dialect of DIALECTS) {
        expect(valuesByCode(await run(join(root, dialect))), dialect).toEqual(ours)
        expect(valuesByCode(await run(join(root, dialect), dialect)), dialect).toEqual(ours)
      }
      expect(valuesByCode(await run(join(root, 'long.csv')))).toEqual(ours)
      const byTsCode = new Map(codes.map((code) => [tsCode(code), code]))
      const tushare = await run(join(root, 'tushare.csv'))
      expect(tushare.map((result) => result.stock_code)).toEqual([...byTsCode.keys()].sort())
      expect(valuesByCode(tushare, (code) => byTsCode.get(code)!)).toEqual(ours)
    })

    it('a long file without a code column fails the task, saying what is missing', async () => {
      const { summary } = await runJob({
        taskId: 'dialect_no_code',
        source: {
          kind: 'csv',
          path: join(root, 'stockpulse', `${codes[0]}.csv`),
          stocks: undefined,
          days: 250,
          date: spec.date,
          dialect: 'auto',
        },
        indicators: INDICATORS,
        concurrency: 1,
      })
      expect(summary).toMatchObject({
        status: 'failed',
        message: `failed: ${codes[0]}.csv line 1: a single file needs a stock code column (code, stock_code, ts_code or 股票代码); with one file per stock, give --data a directory`,
      })
    })
  })
})
