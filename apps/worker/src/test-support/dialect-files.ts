import { isoDate, type StockBars } from '../bars.js'

/** Writes bars the way each vendor exports them, to test that every dialect reads the same bars. */
export type VendorDialect = 'stockpulse' | 'tushare' | 'akshare' | 'yahoo' | 'long'

/** tushare's code of an A share: `.SH` for Shanghai (6xxxxx), `.SZ` otherwise. */
export function tsCode(code: string): string {
  return `${code}.${code.startsWith('6') ? 'SH' : 'SZ'}`
}

/** One stock's file (`long`: a block of rows with a code column) in `dialect`, header included. */
export function dialectFile(dialect: VendorDialect, bars: StockBars, header = true): string {
  const n = bars.dates.length
  const rows: string[] = []
  for (let i = 0; i < n; i++) {
    const date = isoDate(bars.dates[i]!)
    const [o, h, l, c, v] = [bars.open[i], bars.high[i], bars.low[i], bars.close[i], bars.volume[i]]
    if (dialect === 'stockpulse') rows.push(`${date},${o},${h},${l},${c},${v}`)
    else if (dialect === 'long') rows.push(`${bars.code},${date},${o},${h},${l},${c},${v}`)
    else if (dialect === 'tushare') {
      const previous = i > 0 ? bars.close[i - 1]! : c!
      rows.push(
        `${tsCode(bars.code)},${date.replaceAll('-', '')},${o},${h},${l},${c},${previous},0,0,${v! / 100},0`,
      )
    } else if (dialect === 'akshare') {
      rows.push(`${date},${bars.code},${o},${c},${h},${l},${v! / 100},0,0,0,0,0`)
    } else {
      rows.push(`${date},${o},${h},${l},${c},${c! * 0.97},${v}`)
      // Yahoo writes a row of nulls for a day without trading.
      if (i === n >> 1) rows.push(`${isoDate(bars.dates[i]! + 1)},null,null,null,null,null,null`)
    }
  }
  // tushare lists the newest first; the long file comes shuffled by the caller.
  if (dialect === 'tushare') rows.reverse()
  if (!header) return `${rows.join('\n')}\n`
  return `${HEADERS[dialect]}\n${rows.join('\n')}\n`
}

export const HEADERS: Readonly<Record<VendorDialect, string>> = {
  stockpulse: 'date,open,high,low,close,volume',
  long: 'code,date,open,high,low,close,volume',
  tushare: 'ts_code,trade_date,open,high,low,close,pre_close,change,pct_chg,vol,amount',
  akshare: '日期,股票代码,开盘,收盘,最高,最低,成交量,成交额,振幅,涨跌幅,涨跌额,换手率',
  yahoo: 'Date,Open,High,Low,Close,Adj Close,Volume',
}
