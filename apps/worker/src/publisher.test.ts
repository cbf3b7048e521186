import { createMemoryBus, INDICATORS_ALL, TASKS_ALL, taskChannel } from '@stockpulse/events'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { busSink, createPublisher } from './publisher.js'
import { runningTask } from './test-support/events.js'

const progress = (processed: number) => runningTask('t1', processed)

// A pino logger writing its lines into `lines`.
function capture(lines: { level: number; msg: string }[]) {
  return pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) })
}

describe('publisher', () => {
  it('publishes typed events to an EventBus, numbered, each copy naming its channel', async () => {
    const bus = createMemoryBus()
    const got: string[] = []
    bus.subscribe(TASKS_ALL, (message, channel) => got.push(`${channel} ${message}`))
    bus.subscribe('events:task:t1', (message, channel) => got.push(`${channel} ${message}`))
    const publisher = createPublisher(busSink(bus))
    const event = progress(1)
    publisher.publish(event, [TASKS_ALL, taskChannel('t1')])
    // @ts-expect-error a task.progress may not go to events:indicators
    publisher.publish(event, [TASKS_ALL, INDICATORS_ALL])
    await publisher.flush()
    await Promise.resolve()
    const copy = (seq: number, channel: string) =>
      `${channel} ${JSON.stringify({ ...event, seq, channel })}`
    expect(got).toEqual([
      copy(1, 'events:tasks'),
      copy(1, 'events:task:t1'),
      copy(2, 'events:tasks'),
    ])
    expect(publisher.stats()).toEqual({ events: 2, messages: 4, eventsDropped: 0 })
  })

  it('hands the sink each event once, with all its channels', () => {
    const sent: unknown[][] = []
    const publisher = createPublisher({ send: (...args) => sent.push(args) })
    const event = progress(1)
    publisher.publish(event, [TASKS_ALL, taskChannel('t1')])
    expect(sent).toEqual([[event, JSON.stringify(event), [TASKS_ALL, 'events:task:t1']]])
    expect(publisher.stats()).toEqual({ events: 1, messages: 2, eventsDropped: 0 })
  })

  it('tells onEvent of every event handed over and every one dropped, a throw included', async () => {
    const outcomes: string[] = []
    let reply: 'ok' | 'reject' | 'throw' = 'ok'
    const publisher = createPublisher(
      {
        send: () => {
          if (reply === 'throw') throw new Error('encoding')
          return reply === 'ok' ? Promise.resolve() : Promise.reject(new Error('offline'))
        },
      },
      { onEvent: (outcome) => outcomes.push(outcome) },
    )
    publisher.publish(progress(1), [TASKS_ALL])
    reply = 'reject'
    publisher.publish(progress(2), [TASKS_ALL])
    reply = 'throw'
    publisher.publish(progress(3), [TASKS_ALL])
    await publisher.flush()
    expect(outcomes).toEqual(['published', 'published', 'published', 'dropped', 'dropped'])
    expect(publisher.stats()).toMatchObject({ events: 3, eventsDropped: 2 })
  })

  it('counts dropped events once each and says so once per outage', async () => {
    const lines: { level: number; msg: string }[] = []
    let up = false
    const target = {
      publish: () => (up ? Promise.resolve(1) : Promise.reject(new Error('offline'))),
    }
    const publisher = createPublisher(busSink(target), { logger: capture(lines) })
    for (let i = 0; i < 5; i++) publisher.publish(progress(i), [TASKS_ALL, taskChannel('t1')])
    await publisher.flush()
    up = true
    publisher.publish(progress(6), [TASKS_ALL])
    await publisher.flush()
    up = false
    publisher.publish(progress(7), [TASKS_ALL])
    await publisher.flush()
    expect(publisher.stats()).toEqual({ events: 7, messages: 12, eventsDropped: 6 })
    expect(lines.map((line) => line.msg)).toEqual([
      'publishing paused: events are dropped until the bus is back',
      'publishing resumed',
      'publishing paused: events are dropped until the bus is back',
    ])
  })

  it('counts a target that throws as a drop', async () => {
    const publisher = createPublisher(
      busSink({
        publish: () => {
          throw new Error('closed')
        },
      }),
    )
    publisher.publish(progress(1), [TASKS_ALL])
    await publisher.flush()
    expect(publisher.stats().eventsDropped).toBe(1)
  })

  it('keeps at most `window` publishes in flight', async () => {
    const replies: (() => void)[] = []
    const publisher = createPublisher(
      { send: () => new Promise<void>((resolve) => replies.push(resolve)) },
      { window: 2 },
    )
    publisher.publish(progress(1), [TASKS_ALL])
    expect(publisher.writable).toBe(true)
    publisher.publish(progress(2), [TASKS_ALL])
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
