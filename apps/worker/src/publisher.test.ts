import {
  createMemoryBus,
  createTaskProgressEvent,
  INDICATORS_ALL,
  TASKS_ALL,
  taskChannel,
} from '@stockpulse/events'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { createPublisher } from './publisher.js'

const progress = (processed: number) =>
  createTaskProgressEvent({
    task_id: 't1',
    task_type: 'batch_daily',
    status: 'running',
    progress: processed,
    message: '',
    processed,
    total: 100,
    failed: 0,
  })

// A pino logger writing its lines into `lines`.
function capture(lines: { level: number; msg: string }[]) {
  return pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) })
}

describe('publisher', () => {
  it('publishes typed events to an EventBus, encoding an event once for several channels', async () => {
    const bus = createMemoryBus()
    const got: string[] = []
    bus.subscribe(TASKS_ALL, (message, channel) => got.push(`${channel} ${message}`))
    bus.subscribe('events:task:t1', (message, channel) => got.push(`${channel} ${message}`))
    const publisher = createPublisher(bus)
    const event = progress(1)
    publisher.publish(TASKS_ALL, event)
    publisher.publish(taskChannel('t1'), event)
    // @ts-expect-error a task.progress may not go to events:indicators
    publisher.publish(INDICATORS_ALL, event)
    await publisher.flush()
    await Promise.resolve()
    const json = JSON.stringify(event)
    expect(got).toEqual([`events:tasks ${json}`, `events:task:t1 ${json}`])
    expect(publisher.stats()).toEqual({ events: 1, messages: 3, eventsDropped: 0 })
  })

  it('counts dropped events once each and says so once per outage', async () => {
    const lines: { level: number; msg: string }[] = []
    let up = false
    const target = {
      publish: () => (up ? Promise.resolve(1) : Promise.reject(new Error('offline'))),
    }
    const publisher = createPublisher(target, { logger: capture(lines) })
    for (let i = 0; i < 5; i++) {
      const event = progress(i)
      publisher.publish(TASKS_ALL, event)
      publisher.publish(taskChannel('t1'), event)
    }
    await publisher.flush()
    up = true
    publisher.publish(TASKS_ALL, progress(6))
    await publisher.flush()
    up = false
    publisher.publish(TASKS_ALL, progress(7))
    await publisher.flush()
    expect(publisher.stats()).toEqual({ events: 7, messages: 12, eventsDropped: 6 })
    expect(lines.map((line) => line.msg)).toEqual([
      'publishing paused: events are dropped until the bus is back',
      'publishing resumed',
      'publishing paused: events are dropped until the bus is back',
    ])
  })

  it('counts a target that throws as a drop', async () => {
    const publisher = createPublisher({
      publish: () => {
        throw new Error('closed')
      },
    })
    publisher.publish(TASKS_ALL, progress(1))
    await publisher.flush()
    expect(publisher.stats().eventsDropped).toBe(1)
  })

  it('keeps at most `window` publishes in flight', async () => {
    const replies: (() => void)[] = []
    const publisher = createPublisher(
      { publish: () => new Promise<void>((resolve) => replies.push(resolve)) },
      { window: 2 },
    )
    publisher.publish(TASKS_ALL, progress(1))
    expect(publisher.writable).toBe(true)
    publisher.publish(TASKS_ALL, progress(2))
    expect(publisher.writable).toBe(false)
    let roomy = false
    const room = publisher.room().then(() => {
      roomy = true
    })
    await Promise.resolve()
    expect(roomy).toBe(false)
    replies.shift()!()
    await room
    expect(publisher.writable).toBe(true)
    let flushed = false
    const flush = publisher.flush().then(() => {
      flushed = true
    })
    await new Promise((resolve) => setImmediate(resolve))
    expect(flushed).toBe(false)
    replies.shift()!()
    await flush
    expect(flushed).toBe(true)
  })
})
