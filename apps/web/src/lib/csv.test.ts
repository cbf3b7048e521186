import { describe, expect, it } from 'vitest'
import { failuresCsv } from './csv'

describe('failuresCsv', () => {
  it('writes one line per failure, quoting what needs it and defusing formulas', () => {
    expect(
      failuresCsv([
        { stock_code: '000001', indicator: 'MACD', reason: 'not enough bars: 20, needs 34' },
        { stock_code: '000002', reason: 'bars file "000002.csv" unreadable' },
        { stock_code: '000003', indicator: 'RSI_14', reason: '=HYPERLINK("x")' },
      ]),
    ).toBe(
      'stock_code,indicator,reason\r\n' +
        '000001,MACD,"not enough bars: 20, needs 34"\r\n' +
        '000002,,"bars file ""000002.csv"" unreadable"\r\n' +
        `000003,RSI_14,"'=HYPERLINK(""x"")"\r\n`,
    )
  })

  it('is the header alone without failures', () => {
    expect(failuresCsv([])).toBe('stock_code,indicator,reason\r\n')
  })
})
