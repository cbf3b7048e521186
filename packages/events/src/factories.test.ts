import { describe, expect, it } from 'vitest'
import { InvalidEventError } from './errors.js'
import { createTaskCompletedEvent, createTaskProgressEvent } from './factories.js'

const now = new Date('2026-01-10T09:00:00.000Z')

describe('factories', () => {
  it('stamps event_type, timestamp and version', () => {
    const event = createTaskProgressEvent(
      {
        task_id: 'calc_1',
        task_type: 'batch_daily',
        status: 'running',
        progress: 0,
        message: 'Starting',
        processed: 0,
        total: 10,
        failed: 0,
      },
      now,
    )
    expect(event).toEqual({
      event_type: 'task.progress',
      timestamp: '2026-01-10T09:00:00.000Z',
      version: '1.3',
      task_id: 'calc_1',
      task_type: 'batch_daily',
      status: 'running',
      progress: 0,
      message: 'Starting',
      processed: 0,
      total: 10,
      failed: 0,
    })
  })

  it('throws a named error carrying the path when the event would break the contract', () => {
    const build = () =>
      createTaskCompletedEvent(
        {
          task_id: 'calc 1',
          task_type: 't',
          status: 'completed',
          duration_seconds: 1,
          result: { success: 1, failed: 0 },
        },
        now,
      )
    expect(build).toThrow(InvalidEventError)
    expect(build).toThrow(/^invalid task.completed event at \/task_id: Expected string to match/)
  })
})
