import {
  createTaskCompletedEvent,
  createTaskProgressEvent,
  type TaskCompletedEvent,
  type TaskProgressEvent,
} from '@stockpulse/events'
import { describe, expect, it } from 'vitest'
import { applyTaskEvent, elapsedSeconds, etaSeconds, type TaskView, throughput } from './useTasks'

const t0 = Date.parse('2026-01-10T09:00:00.000Z')

function progress(second: number, processed: number, total = 1000): TaskProgressEvent {
  return createTaskProgressEvent(
    {
      task_id: 'calc_1',
      task_type: 'batch_daily',
      status: 'running',
      progress: total ? (processed / total) * 100 : 0,
      message: `Processing (${processed}/${total})`,
      processed,
      total,
      failed: Math.floor(processed / 100),
    },
    new Date(t0 + second * 1000),
  )
}

function completed(
  second: number,
  status: 'completed' | 'failed' = 'completed',
): TaskCompletedEvent {
  return createTaskCompletedEvent(
    {
      task_id: 'calc_1',
      task_type: 'batch_daily',
      status,
      duration_seconds: second,
      result: { success: 990, failed: 10 },
    },
    new Date(t0 + second * 1000),
  )
}

const fold = (events: Array<TaskProgressEvent | TaskCompletedEvent>) =>
  events.reduce<TaskView | undefined>((task, event) => applyTaskEvent(task, event), undefined)!

describe('applyTaskEvent', () => {
  it('takes the numbers of the newest progress event and keeps the start', () => {
    const task = fold([progress(0, 0), progress(2, 200), progress(4, 400)])
    expect(task).toMatchObject({
      id: 'calc_1',
      status: 'running',
      progress: 40,
      processed: 400,
      total: 1000,
      failed: 4,
      message: 'Processing (400/1000)',
      startedAt: t0,
      updatedAt: t0 + 4000,
    })
  })

  it('ignores a progress event older than what it knows', () => {
    const task = fold([progress(0, 0), progress(4, 400)])
    expect(applyTaskEvent(task, progress(2, 200))).toBe(task)
  })

  it('settles on task.completed at 100 % and ignores anything after it', () => {
    const task = fold([progress(0, 0), progress(5, 500), completed(10)])
    expect(task).toMatchObject({
      status: 'completed',
      progress: 100,
      processed: 1000,
      failed: 10,
      durationSeconds: 10,
      result: { success: 990, failed: 10 },
    })
    expect(applyTaskEvent(task, progress(11, 600))).toBe(task)
    expect(applyTaskEvent(task, completed(10))).toBe(task)
  })

  it('keeps the last progress of a failed task', () => {
    expect(fold([progress(0, 0), progress(5, 500), completed(6, 'failed')])).toMatchObject({
      status: 'failed',
      progress: 50,
    })
  })

  it('dates a task first seen at its end from its duration', () => {
    expect(fold([completed(10)]).startedAt).toBe(t0)
  })

  it('counts from the started_at a worker stamps on its progress, whatever was seen first', () => {
    const opened = { ...progress(40, 600), started_at: '2026-01-10T08:59:58.500Z' }
    const task = fold([opened, progress(42, 620)])
    expect(task.startedAt).toBe(t0 - 1500)
    expect(elapsedSeconds(task, t0 + 45_000)).toBe(46.5)
  })

  it('keeps one sample before the throughput window so the rate spans it', () => {
    const task = fold([0, 4, 8, 12, 16].map((second) => progress(second, second * 10)))
    expect(task.samples.map((sample) => sample.at - t0)).toEqual([4000, 8000, 12_000, 16_000])
  })
})

describe('throughput, etaSeconds and elapsedSeconds', () => {
  it('measures the recent rate while running', () => {
    const task = fold([progress(0, 0), progress(10, 100), progress(20, 400)])
    expect(throughput(task)).toBe(30)
    expect(etaSeconds(task)).toBe(20)
    expect(elapsedSeconds(task, t0 + 25_000)).toBe(25)
  })

  it('has no ETA while the task is stale', () => {
    const task = fold([progress(0, 0), progress(10, 100)])
    expect(etaSeconds(task)).toBe(90)
    expect(etaSeconds({ ...task, stale: 'no event for 60 s' })).toBeUndefined()
  })

  it('is unknown with a single sample', () => {
    const task = fold([progress(0, 0)])
    expect(throughput(task)).toBeUndefined()
    expect(etaSeconds(task)).toBeUndefined()
  })

  it('averages over the whole run once settled', () => {
    const task = fold([progress(0, 0), completed(8)])
    expect(throughput(task)).toBe(125)
    expect(etaSeconds(task)).toBeUndefined()
    expect(elapsedSeconds(task, t0 + 60_000)).toBe(8)
  })
})
