import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { createProgressBar, createProgressLog, renderBar } from './progress-bar.js'

describe('progress-bar', () => {
  it('renders processed/total, percent, rate, ETA and failures', () => {
    expect(renderBar({ processed: 2500, total: 5000, failed: 3 }, 2)).toBe(
      '[###############...............]  2,500/5,000  50.0%  1,250 stocks/s  ETA 2s  3 failed',
    )
    expect(renderBar({ processed: 0, total: 10, failed: 0 }, 0)).toBe(
      '[..............................]  0/10  0.0%  0 stocks/s  ETA ?',
    )
  })

  it('redraws one line at most every 100 ms, always at the end', () => {
    let clock = 0
    const written: string[] = []
    const bar = createProgressBar({ write: (text: string) => written.push(text) > 0 }, () => clock)
    bar.update({ processed: 1, total: 3, failed: 0 })
    clock = 50
    bar.update({ processed: 2, total: 3, failed: 0 })
    clock = 60
    bar.update({ processed: 3, total: 3, failed: 0 })
    bar.done()
    expect(written).toHaveLength(3)
    expect(written[0]).toMatch(/^\r\[#{10}\.{20}\] {2}1\/3 /)
    expect(written[0]!.endsWith('\x1b[K')).toBe(true)
    expect(written[1]).toMatch(/^\r\[#{30}\] {2}3\/3 {2}100\.0%/)
    expect(written[2]).toBe('\n')
  })

  it('logs one line per tenth of the universe when not on a terminal', () => {
    const lines: { processed: number }[] = []
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => lines.push(JSON.parse(line)) },
    )
    const log = createProgressLog(logger)
    for (let processed = 1; processed <= 100; processed++)
      log.update({ processed, total: 100, failed: 0 })
    expect(lines.map((line) => line.processed)).toEqual([
      1, 11, 21, 31, 41, 51, 61, 71, 81, 91, 100,
    ])
  })
})
