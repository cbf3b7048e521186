import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  CHANNEL_CATALOGUE,
  type Channel,
  type EventFor,
  isEventAllowedOn,
  isEventBoundTo,
  marketChannel,
  parseChannel,
  taskChannel,
  userChannel,
} from './channels.js'
import { ChannelNameError } from './errors.js'
import type { MarketSnapshotEvent, TaskCompletedEvent, TaskProgressEvent } from './events.js'
import {
  createStockIndicatorsCompletedEvent,
  createSystemHeartbeatEvent,
  createTaskProgressEvent,
  createUserNotificationEvent,
} from './factories.js'

describe('channels', () => {
  it.each([
    ['events:tasks', 'tasks', undefined],
    ['events:indicators', 'indicators', undefined],
    ['events:market', 'market', undefined],
    ['events:system', 'system', undefined],
    ['events:task:calc_1234567890', 'task', 'calc_1234567890'],
    ['events:market:000001', 'market_stock', '000001'],
    ['events:market:600000.SH', 'market_stock', '600000.SH'],
    ['events:user:alice-01', 'user', 'alice-01'],
    [`events:task:${'a'.repeat(64)}`, 'task', 'a'.repeat(64)],
  ])('parses %s', (name, kind, id) => {
    expect(parseChannel(name)).toEqual({
      ok: true,
      channel: id === undefined ? { name, kind } : { name, kind, id },
    })
  })

  it.each([
    ['events:*', 'unknown channel "events:*"'],
    ['events:task:*', 'events:task:{id}: id may only contain A-Z a-z 0-9 _ . -'],
    ['events:task:calc?', 'events:task:{id}: id may only contain A-Z a-z 0-9 _ . -'],
    ['events:market:[0-9]', 'events:market:{id}: id may only contain A-Z a-z 0-9 _ . -'],
    ['events:task:a b', 'events:task:{id}: id may only contain A-Z a-z 0-9 _ . -'],
    ['events:task:a\nb', 'events:task:{id}: id may only contain A-Z a-z 0-9 _ . -'],
    ['events:user:\u0000', 'events:user:{id}: id may only contain A-Z a-z 0-9 _ . -'],
    ['events:task:calc:1', 'events:task:{id}: id may only contain A-Z a-z 0-9 _ . -'],
    ['events:task:', 'events:task:{id}: id is empty'],
    [`events:task:${'a'.repeat(65)}`, 'events:task:{id}: id is longer than 64 characters'],
    ['events:tasks ', 'unknown channel "events:tasks "'],
    ['EVENTS:TASKS', 'unknown channel "EVENTS:TASKS"'],
    ['', 'unknown channel ""'],
    ['commands:worker', 'unknown channel "commands:worker"'],
    ['constructor', 'unknown channel "constructor"'],
    ['__proto__', 'unknown channel "__proto__"'],
    ['toString', 'unknown channel "toString"'],
    ['hasOwnProperty', 'unknown channel "hasOwnProperty"'],
  ])('rejects %j', (name, reason) => {
    expect(parseChannel(name)).toEqual({ ok: false, reason })
  })

  it('rejects non-strings and cuts long names in the reason', () => {
    expect(parseChannel(42)).toEqual({ ok: false, reason: 'channel must be a string' })
    expect(parseChannel(`x${'y'.repeat(500)}`)).toEqual({
      ok: false,
      reason: `unknown channel "x${'y'.repeat(79)}"`,
    })
  })

  it('builds the parameterised channels and refuses bad ids', () => {
    expect(taskChannel('calc_1')).toBe('events:task:calc_1')
    expect(marketChannel('000001')).toBe('events:market:000001')
    expect(userChannel('alice')).toBe('events:user:alice')
    expect(() => taskChannel('a*')).toThrow(ChannelNameError)
    expect(() => marketChannel('')).toThrow('invalid channel id "": id is empty')
  })

  it('lists every kind once, with the events it may carry', () => {
    expect(CHANNEL_CATALOGUE.map((c) => c.kind)).toEqual([
      'tasks',
      'task',
      'indicators',
      'market',
      'market_stock',
      'system',
      'user',
    ])
    expect(isEventAllowedOn('indicators', 'stock.indicators.completed')).toBe(true)
    expect(isEventAllowedOn('indicators', 'task.progress')).toBe(false)
    expect(isEventAllowedOn('tasks', 'stock.indicators.completed')).toBe(false)
    expect(isEventAllowedOn('system', 'system.heartbeat')).toBe(true)
  })

  it('binds an event to the channel its own id names', () => {
    const channel = (name: string) => {
      const parsed = parseChannel(name)
      if (!parsed.ok) throw new Error(parsed.reason)
      return parsed.channel
    }
    const note = createUserNotificationEvent({
      user_id: 'bob',
      level: 'info',
      title: 't',
      message: 'm',
    })
    const progress = createTaskProgressEvent({
      task_id: 'calc_1',
      task_type: 'batch_daily',
      status: 'running',
      progress: 1,
      message: '',
      processed: 1,
      total: 100,
      failed: 0,
    })
    const stock = createStockIndicatorsCompletedEvent({
      stock_code: '000001',
      indicators: [],
      success_count: 0,
      failed_count: 0,
      calculation_time_ms: 1,
      from_cache_count: 0,
    })
    const beat = createSystemHeartbeatEvent({
      service: 'worker',
      instance_id: 'w1',
      uptime_seconds: 1,
      status: 'ok',
    })
    expect(isEventBoundTo(channel('events:user:bob'), note)).toBe(true)
    expect(isEventBoundTo(channel('events:user:alice'), note)).toBe(false)
    expect(isEventBoundTo(channel('events:task:calc_1'), progress)).toBe(true)
    expect(isEventBoundTo(channel('events:task:calc_2'), progress)).toBe(false)
    // A stock event without a task_id belongs to no task channel.
    expect(isEventBoundTo(channel('events:task:calc_1'), stock)).toBe(false)
    expect(isEventBoundTo(channel('events:task:calc_1'), { ...stock, task_id: 'calc_1' })).toBe(
      true,
    )
    expect(isEventBoundTo(channel('events:market:000001'), stock)).toBe(true)
    expect(isEventBoundTo(channel('events:market:000002'), stock)).toBe(false)
    expect(isEventBoundTo(channel('events:indicators'), stock)).toBe(true)
    expect(isEventBoundTo(channel('events:system'), beat)).toBe(true)
  })

  it('types the events a channel may carry', () => {
    expectTypeOf<EventFor<'events:tasks'>>().toEqualTypeOf<TaskProgressEvent | TaskCompletedEvent>()
    expectTypeOf<EventFor<'events:market:000001'>>().toEqualTypeOf<MarketSnapshotEvent>()
    const publish = <C extends Channel>(_channel: C, _event: EventFor<C>) => undefined
    const progress = {} as TaskProgressEvent
    publish('events:tasks', progress)
    publish(taskChannel('calc_1'), progress)
    // @ts-expect-error a task.progress may not be published on events:indicators
    publish('events:indicators', progress)
    // @ts-expect-error not a channel of the catalogue
    publish('events:everything', progress)
  })
})
