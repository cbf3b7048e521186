import { describe, expect, it } from 'vitest'
import { parseSchedule, parseWorkers } from './run-api'

const worker = {
  instance_id: 'w-1',
  host: 'box-a',
  threads: 2,
  chunks_done: 7,
  current_chunk: 'calc_1#3',
  status: 'ok',
  last_seen: '2026-01-10T09:00:00.000Z',
  uptime_seconds: 120,
}

describe('parseWorkers', () => {
  it('keeps the workers the contract accepts and drops the others', () => {
    const { current_chunk: _, ...idle } = { ...worker, instance_id: 'w-2' }
    expect(
      parseWorkers({
        workers: [
          worker,
          idle,
          { ...worker, instance_id: 'w-3', threads: -1 },
          { ...worker, instance_id: 'w-4', last_seen: 'yesterday' },
          { ...worker, instance_id: 'w-5', current_chunk: { task_id: 'calc_1', index: 3 } },
          { ...worker, instance_id: 'w-6', status: 'busy' },
          'w-7',
        ],
      }),
    ).toEqual([worker, idle])
  })

  it('refuses a body without a workers list', () => {
    expect(parseWorkers({ workers: 'none' })).toBeUndefined()
    expect(parseWorkers(null)).toBeUndefined()
  })
})

describe('parseSchedule', () => {
  it.each([
    [{ cron: '30 16 * * 1-5', tz: 'Asia/Shanghai', next_run_at: '2026-01-12T08:30:00Z' }, true],
    [{ cron: '30 16 * * 1-5', tz: 'Asia/Shanghai', next_run_at: null }, true],
    [{ cron: '', tz: '', next_run_at: null }, true],
    [{ cron: '30 16 * * 1-5', tz: 'Asia/Shanghai', next_run_at: 'soon' }, false],
    [{ cron: 5, tz: 'UTC', next_run_at: null }, false],
    [{ cron: '30 16 * * 1-5', tz: 'UTC' }, false],
  ])('reads %j (accepted: %s)', (body, accepted) => {
    expect(parseSchedule(body)).toEqual(accepted ? body : undefined)
  })
})
