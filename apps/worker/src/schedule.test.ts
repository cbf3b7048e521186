import { afterEach, describe, expect, it, vi } from 'vitest'
import { createDailySchedule, dateIn, nextRunAt, previousRunAt } from './schedule.js'

const at = (iso: string) => new Date(iso)

describe('schedule', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it.each([
    ['later the same weekday', '2026-01-09T08:00:00Z', '2026-01-09T08:30:00.000Z'],
    ['strictly after now', '2026-01-09T08:30:00Z', '2026-01-12T08:30:00.000Z'],
    ['Friday evening -> Monday', '2026-01-09T12:00:00Z', '2026-01-12T08:30:00.000Z'],
    ['Saturday -> Monday', '2026-01-10T03:00:00Z', '2026-01-12T08:30:00.000Z'],
    ['just after local midnight', '2026-01-12T16:30:00Z', '2026-01-13T08:30:00.000Z'],
  ])('16:30 Asia/Shanghai: %s', (_, now, next) => {
    expect(nextRunAt(at(now), '16:30', 'Asia/Shanghai').toISOString()).toBe(next)
  })

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
  ])('last due at 16:30 Asia/Shanghai: %s', (_, now, last) => {
    expect(previousRunAt(at(now), '16:30', 'Asia/Shanghai').toISOString()).toBe(last)
  })

  it('follows daylight saving time through Intl', () => {
    // New York moves to EDT on Sunday 2026-03-08: 16:30 is 21:30Z on Friday, 20:30Z on Monday.
    expect(nextRunAt(at('2026-03-06T15:00:00Z'), '16:30', 'America/New_York').toISOString()).toBe(
      '2026-03-06T21:30:00.000Z',
    )
    expect(nextRunAt(at('2026-03-06T22:00:00Z'), '16:30', 'America/New_York').toISOString()).toBe(
      '2026-03-09T20:30:00.000Z',
    )
  })

  it('tells the local date', () => {
    expect(dateIn('Asia/Shanghai', at('2026-01-09T15:59:59Z'))).toBe('2026-01-09')
    expect(dateIn('Asia/Shanghai', at('2026-01-09T16:00:00Z'))).toBe('2026-01-10')
    expect(dateIn('America/New_York', at('2026-01-09T03:00:00Z'))).toBe('2026-01-08')
  })

  it('fires at each next run and re-arms until stopped', () => {
    vi.useFakeTimers({ now: at('2026-01-09T08:00:00Z') })
    const runs: string[] = []
    const schedule = createDailySchedule({
      time: '16:30',
      timeZone: 'Asia/Shanghai',
      run: (when) => runs.push(when.toISOString()),
    })
    expect(schedule.last?.toISOString()).toBe('2026-01-08T08:30:00.000Z')
    expect(schedule.next?.toISOString()).toBe('2026-01-09T08:30:00.000Z')
    vi.advanceTimersByTime(30 * 60_000 - 1)
    expect(runs).toEqual([])
    vi.advanceTimersByTime(1)
    expect(runs).toEqual(['2026-01-09T08:30:00.000Z'])
    expect(schedule.last?.toISOString()).toBe('2026-01-09T08:30:00.000Z')
    expect(schedule.next?.toISOString()).toBe('2026-01-12T08:30:00.000Z')
    vi.advanceTimersByTime(3 * 86_400_000)
    expect(runs).toEqual(['2026-01-09T08:30:00.000Z', '2026-01-12T08:30:00.000Z'])
    schedule.stop()
    expect(schedule.last).toBeUndefined()
    expect(schedule.next).toBeUndefined()
    vi.advanceTimersByTime(7 * 86_400_000)
    expect(runs).toHaveLength(2)
  })

  it('fires once per run when its timer comes due before the wall clock says so', () => {
    vi.useFakeTimers({ now: at('2026-01-09T08:00:00Z') })
    // Timers run on the monotonic clock: by Date they now and then fire a millisecond early, more
    // when the wall clock is being adjusted.
    let lag = 0
    const runs: string[] = []
    const schedule = createDailySchedule({
      time: '16:30',
      timeZone: 'Asia/Shanghai',
      now: () => new Date(Date.now() - lag),
      run: (when) => runs.push(when.toISOString()),
    })
    lag = 5
    vi.advanceTimersByTime(30 * 60_000 + 10)
    expect(runs).toEqual(['2026-01-09T08:30:00.000Z'])
    expect(schedule.last?.toISOString()).toBe('2026-01-09T08:30:00.000Z')
    expect(schedule.next?.toISOString()).toBe('2026-01-12T08:30:00.000Z')
    schedule.stop()
  })
})
