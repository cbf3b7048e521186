import { describe, expect, it } from 'vitest'
import { dateIn, previousTick } from './schedule.js'

const at = (iso: string) => new Date(iso)

describe('schedule', () => {
  it.each([
    ['at the time itself', '2026-01-09T08:30:00Z', '2026-01-09T08:30:00.000Z'],
    ['later the same weekday', '2026-01-09T12:00:00Z', '2026-01-09T08:30:00.000Z'],
    [
      'earlier the same weekday -> the day before',
      '2026-01-08T08:29:59Z',
      '2026-01-07T08:30:00.000Z',
    ],
    ['Monday morning -> Friday', '2026-01-12T01:00:00Z', '2026-01-09T08:30:00.000Z'],
    ['Sunday -> Friday', '2026-01-11T10:00:00Z', '2026-01-09T08:30:00.000Z'],
  ])('30 16 * * 1-5 in Asia/Shanghai last came due %s', (_, now, last) => {
    expect(previousTick('30 16 * * 1-5', 'Asia/Shanghai', at(now))?.toISOString()).toBe(last)
  })

  it('follows daylight saving time', () => {
    // New York moves to EDT on Sunday 2026-03-08: 16:30 is 21:30Z on Friday, 20:30Z on Monday.
    expect(
      previousTick('30 16 * * 1-5', 'America/New_York', at('2026-03-09T21:00:00Z'))?.toISOString(),
    ).toBe('2026-03-09T20:30:00.000Z')
    expect(
      previousTick('30 16 * * 1-5', 'America/New_York', at('2026-03-09T20:00:00Z'))?.toISOString(),
    ).toBe('2026-03-06T21:30:00.000Z')
  })

  it('has no tick for a pattern it cannot read', () => {
    expect(previousTick('not a cron', 'UTC', at('2026-01-09T08:30:00Z'))).toBeUndefined()
  })

  it('tells the local date', () => {
    expect(dateIn('Asia/Shanghai', at('2026-01-09T15:59:59Z'))).toBe('2026-01-09')
    expect(dateIn('Asia/Shanghai', at('2026-01-09T16:00:00Z'))).toBe('2026-01-10')
    expect(dateIn('America/New_York', at('2026-01-09T03:00:00Z'))).toBe('2026-01-08')
  })
})
