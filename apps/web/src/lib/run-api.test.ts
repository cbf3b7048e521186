import { describe, expect, it } from 'vitest'
import { parseSchedule, parseWorkers } from './run-api'

const worker = {
  instance_id: 'w-1',
  host: 'box-a',
  threads: 2,
  chunks_done: 7,
  current_chunk: { task_id: 'calc_1', index: 3 },
  status: 'busy',
  last_seen: '2026-01-10T09:00:00.000Z',
  uptime_seconds: 120,
}

describe('parseWorkers', () => {
  it('keeps the well-formed workers and drops the others', () => {
    expect(
      parseWorkers({
        workers: [
          worker,
          { ...worker, instance_id: 'w-2', current_chunk: undefined, last_seen: 1_768_035_600_000 },
          { ...worker, instance_id: 'w-3', threads: -1 },
          { ...worker, instance_id: 'w-4', last_seen: 'yesterday' },
          'w-5',
        ],
      }),
    ).toEqual(
      [
        { ...worker, current_chunk: 'task_id calc_1 · index 3', last_seen: 1_768_035_600_000 },
        { ...worker, instance_id: 'w-2', current_chunk: undefined, last_seen: 1_768_035_600_000 },
      ].map(({ current_chunk, ...rest }) => (current_chunk ? { ...rest, current_chunk } : rest)),
    )
  })

  it('refuses a body without a workers list', () => {
    expect(parseWorkers({ workers: 'none' })).toBeUndefined()
    expect(parseWorkers(null)).toBeUndefined()
  })
})

describe('parseSchedule', () => {
  it.each([
    [
      { cron: '30 16 * * 1-5', tz: 'Asia/Shanghai', next_run_at: '2026-01-12T08:30:00Z' },
      { cron: '30 16 * * 1-5', tz: 'Asia/Shanghai', nextRunAt: Date.parse('2026-01-12T08:30:00Z') },
    ],
    [
      { cron: '30 16 * * 1-5', tz: 'Asia/Shanghai', next_run_at: null },
      { cron: '30 16 * * 1-5', tz: 'Asia/Shanghai', nextRunAt: null },
    ],
    [{ cron: '30 16 * * 1-5', tz: 'Asia/Shanghai', next_run_at: 'soon' }, undefined],
    [{ cron: 5, tz: 'UTC', next_run_at: null }, undefined],
  ])('reads %j', (body, expected) => {
    expect(parseSchedule(body)).toEqual(expected)
  })
})
