import { describe, expect, it } from 'vitest'
import seedAppendix from '../fixtures/seed-appendix.json' with { type: 'json' }
import { parseEvent, validateEvent } from './validators.js'

const progress = {
  event_type: 'task.progress',
  timestamp: '2026-01-10T09:00:30Z',
  task_id: 'calc_1',
  task_type: 'batch_daily',
  status: 'running',
  progress: 1,
  message: 'Processing 000050 (50/5000)',
  processed: 50,
  total: 5000,
  failed: 0,
}
const stock = {
  event_type: 'stock.indicators.completed',
  timestamp: '2026-01-10T09:00:01.123Z',
  version: '1.0',
  task_id: 'calc_1',
  stock_code: '000001',
  indicators: ['SMA_5', 'MACD'],
  success_count: 2,
  failed_count: 1,
  calculation_time_ms: 0.25,
  from_cache_count: 0,
  latest: { SMA_5: { sma: 10.5 }, MACD: { macd: 0.1, signal: null, hist: null } },
  errors: [{ indicator: 'RSI', reason: 'NaN at bar 12' }],
}
const completed = {
  event_type: 'task.completed',
  timestamp: '2026-01-10T09:15:00+00:00',
  task_id: 'calc_1',
  task_type: 'batch_daily',
  status: 'completed',
  duration_seconds: 0.9,
  result: {
    success: 4988,
    failed: 12,
    failures: [{ stock_code: '600001', reason: 'history too short' }],
    failures_omitted: 11,
  },
}
const snapshot = {
  event_type: 'market.snapshot',
  timestamp: '2026-01-10T09:00:01Z',
  stock_code: '600000',
  trade_date: '2026-01-09',
  bar: { open: 10, high: 11, low: 9.5, close: 10.5, volume: 123456 },
  indicators: { RSI: { rsi: 55.1 } },
}
const heartbeat = {
  event_type: 'system.heartbeat',
  timestamp: '2026-01-10T09:00:01Z',
  service: 'worker',
  instance_id: 'worker-1',
  uptime_seconds: 12.5,
  status: 'ok',
}
const notification = {
  event_type: 'user.notification',
  timestamp: '2026-01-10T09:00:01Z',
  user_id: 'alice',
  level: 'success',
  title: 'Done',
  message: 'calc_1 finished',
}

describe('events', () => {
  it.each(seedAppendix.map((event, i) => [i, event.event_type, event] as const))(
    'accepts seed appendix event #%i (%s)',
    (_i, _type, event) => {
      expect(validateEvent(event)).toEqual({ ok: true, value: event })
    },
  )

  it.each([
    ['task.progress', progress],
    [
      'task.progress with a 1.1 position',
      { ...progress, version: '1.1', position: 'k9x2:1732550000000-3' },
    ],
    [
      'stock.indicators.completed with its 1.2 seq and channel',
      { ...stock, version: '1.2', seq: 5102, channel: 'events:task:calc_1', position: 'e1:17-3' },
    ],
    [
      'task.progress with its 1.3 started_at',
      { ...progress, version: '1.3', started_at: '2026-01-10T08:59:30.125Z' },
    ],
    ['stock.indicators.completed', stock],
    ['task.completed', completed],
    ['market.snapshot', snapshot],
    ['system.heartbeat', heartbeat],
    ['user.notification', notification],
  ])('accepts a full %s', (_type, event) => {
    expect(parseEvent(JSON.stringify(event))).toEqual({ ok: true, value: event })
  })

  it('keeps unknown extra fields so newer producers can talk to older consumers', () => {
    const result = validateEvent({ ...progress, eta_seconds: 12, cursor: '1-0' })
    expect(result).toMatchObject({ ok: true, value: { eta_seconds: 12, cursor: '1-0' } })
  })

  it.each([
    [
      'missing task_id',
      without(progress, 'task_id'),
      'task.progress /task_id: Expected required property',
    ],
    [
      'progress over 100',
      { ...progress, progress: 100.5 },
      'task.progress /progress: Expected number to be less or equal to 100',
    ],
    [
      'negative processed',
      { ...progress, processed: -1 },
      'task.progress /processed: Expected integer to be greater or equal to 0',
    ],
    ['fractional total', { ...progress, total: 1.5 }, 'task.progress /total: Expected integer'],
    [
      'unknown status',
      { ...progress, status: 'paused' },
      'task.progress /status: Expected union value',
    ],
    [
      'timestamp without zone',
      { ...progress, timestamp: '2026-01-10T09:00:00' },
      'task.progress /timestamp: Expected string to match',
    ],
    [
      'started_at without zone',
      { ...progress, started_at: '2026-01-10T09:00:00' },
      'task.progress /started_at: Expected string to match',
    ],
    [
      'seq of 0',
      { ...progress, seq: 0 },
      'task.progress /seq: Expected integer to be greater or equal to 1',
    ],
    ['fractional seq', { ...progress, seq: 1.5 }, 'task.progress /seq: Expected integer'],
    [
      'channel outside the catalogue',
      { ...progress, channel: 'events:everything' },
      'task.progress /channel: Expected string to match',
    ],
    [
      'timestamp as epoch',
      { ...progress, timestamp: 1736499600 },
      'task.progress /timestamp: Expected string',
    ],
    [
      'NaN-like latest value',
      { ...stock, latest: { RSI: { rsi: 'NaN' } } },
      'stock.indicators.completed /latest/RSI/rsi: Expected union value',
    ],
    [
      'stock code with a wildcard',
      { ...stock, stock_code: '0000*' },
      'stock.indicators.completed /stock_code: Expected string to match',
    ],
    [
      'indicators not an array',
      { ...stock, indicators: 'SMA_5' },
      'stock.indicators.completed /indicators: Expected array',
    ],
    [
      'result without success',
      { ...completed, result: { failed: 1 } },
      'task.completed /result/success: Expected required property',
    ],
    [
      'failure without reason',
      { ...completed, result: { success: 1, failed: 1, failures: [{ stock_code: '1' }] } },
      'task.completed /result/failures/0/reason: Expected required property',
    ],
    [
      'bar without close',
      { ...snapshot, bar: without(snapshot.bar, 'close') },
      'market.snapshot /bar/close: Expected required property',
    ],
    [
      'trade date with time',
      { ...snapshot, trade_date: '2026-01-09T00:00:00Z' },
      'market.snapshot /trade_date: Expected string to match',
    ],
    [
      'heartbeat status unknown',
      { ...heartbeat, status: 'sleepy' },
      'system.heartbeat /status: Expected union value',
    ],
    [
      'notification level unknown',
      { ...notification, level: 'fatal' },
      'user.notification /level: Expected union value',
    ],
  ])('rejects %s', (_name, event, message) => {
    const result = validateEvent(event)
    expect(result).toMatchObject({ ok: false, error: { code: 'invalid_frame' } })
    expect(result.ok ? '' : result.error.message.slice(0, message.length)).toBe(message)
  })

  it('rejects an unknown event_type with unknown_type', () => {
    expect(validateEvent({ ...progress, event_type: 'task.exploded' })).toEqual({
      ok: false,
      error: { code: 'unknown_type', message: 'unknown event_type "task.exploded"' },
    })
  })

  it('does not treat inherited properties as event types', () => {
    expect(validateEvent({ ...progress, event_type: 'constructor' })).toMatchObject({
      ok: false,
      error: { code: 'unknown_type' },
    })
  })
})

function without<T extends object>(value: T, key: keyof T): Partial<T> {
  const copy = { ...value }
  delete copy[key]
  return copy
}
