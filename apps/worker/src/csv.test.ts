import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { epochDay, isoDate } from './bars.js'
import { createCsvLoader, listCsvStocks, parseCsvBars } from './csv.js'
import { BarDataError } from './errors.js'

const fixtures = fileURLToPath(new URL('../fixtures/csv', import.meta.url))
const header = 'date,open,high,low,close,volume'
const window = (date: string, days = 250) => ({
  lastDay: epochDay(date)!,
  days,
  dialect: 'auto' as const,
})

describe('csv', () => {
  it('lists <code>.csv files by code and sets other names apart', async () => {
    expect(await listCsvStocks(fixtures)).toEqual({
      codes: [
        '000001',
        '000002',
        '000003',
        '000004',
        '000005',
        '000006',
        '000007',
        '000008',
        '600000',
      ],
      ignored: ['notes.txt'],
    })
  })

  it('parses a file into bars, keeping those up to the date', async () => {
    const load = createCsvLoader(fixtures, window('2025-10-03'))
    const bars = await load('000001')
    expect(Array.from(bars.dates)).toEqual([
      epochDay('2025-10-01'),
      epochDay('2025-10-02'),
      epochDay('2025-10-03'),
    ])
    expect(Array.from(bars.close.slice(0, 2))).toEqual([9.79, 9.84])
    expect((await createCsvLoader(fixtures, window('2030-01-01'))('000001')).close).toHaveLength(80)
  })

  it.each([
    ['000002', 'line 5: expected 6 columns, got 5'],
    ['000003', 'line 7: close is not a number: "abc"'],
    ['000004', 'line 3: high is NaN'],
    ['000005', 'line 4: open must be > 0, got -3.1'],
    ['000006', 'line 6: high 9.44 is below low 9.68'],
    ['000007', 'line 8: date 2025-10-08 repeats line 7'],
  ])('rejects %s with the line at fault', async (code, reason) => {
    const load = createCsvLoader(fixtures, window('2030-01-01'))
    await expect(load(code)).rejects.toBeInstanceOf(BarDataError)
    await expect(load(code)).rejects.toThrow(`${code}.csv ${reason}`)
  })

  it.each([
    [
      'no header',
      'date;open\n',
      'line 1: unknown header "date;open": expected date,open,high,low,close,volume, or a tushare, akshare, Yahoo or long (code column) header; see --csv-dialect',
    ],
    ['no rows', `${header}\n\n`, 'no bars'],
    [
      'a bad date',
      `${header}\n2025-02-30,1,1,1,1,1\n`,
      'line 2: date "2025-02-30" is not a YYYY-MM-DD date',
    ],
    [
      'negative volume',
      `${header}\n2025-01-02,1,1,1,1,-5\n`,
      'line 2: volume must be >= 0, got -5',
    ],
    ['an empty cell', `${header}\n2025-01-02,1,,1,1,5\n`, 'line 2: high is not a number: ""'],
    [
      'a repeated date',
      `${header}\n2025-01-02,1,1,1,1,5\n2025-01-03,1,1,1,1,5\n2025-01-02,1,1,1,1,5\n`,
      'line 4: date 2025-01-02 repeats line 2',
    ],
  ])('rejects %s', (_, text, reason) => {
    const error = (() => {
      try {
        parseCsvBars('X', text)
      } catch (caught) {
        return caught as BarDataError
      }
    })()
    expect(error).toBeInstanceOf(BarDataError)
    expect(error?.message).toBe(reason === 'no bars' ? 'X.csv: no bars' : `X.csv ${reason}`)
  })

  it('keeps the year of a date before 0100 (Date.UTC would read 0025 as 1925)', () => {
    const bars = parseCsvBars('X', `${header}\n0025-03-01,1,1,1,1,5\n1925-03-02,1,1,1,1,5\n`)
    expect(Array.from(bars.dates, isoDate)).toEqual(['0025-03-01', '1925-03-02'])
  })

  it('accepts CRLF, a BOM, spaces around cells and blank lines', () => {
    const bars = parseCsvBars('X', `\uFEFF${header}\r\n2025-01-02, 1, 2, 0.5, 1.5, 100\r\n\r\n`)
    expect(Array.from(bars.data)).toEqual([1, 2, 0.5, 1.5, 100])
  })

  it('names an unreadable file', async () => {
    await expect(createCsvLoader(fixtures, window('1970-01-01'))('999999')).rejects.toThrow(
      /^999999\.csv: cannot read: ENOENT/,
    )
  })
})
