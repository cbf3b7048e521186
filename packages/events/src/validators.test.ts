import { describe, expect, it } from 'vitest'
import { validateRunRequest } from './runs.js'
import { parseClientFrame, parseServerMessage } from './validators.js'

describe('validators', () => {
  describe('parseClientFrame', () => {
    it.each([
      [{ type: 'heartbeat' }],
      [{ type: 'subscribe', channels: ['events:tasks', 'events:market:000001'] }],
      [{ type: 'subscribe', channels: ['events:tasks'], id: 7, since: { 'events:tasks': '1-0' } }],
      [{ type: 'unsubscribe', channels: ['events:tasks'], id: 'req-1' }],
    ])('accepts %j', (frame) => {
      expect(parseClientFrame(JSON.stringify(frame))).toEqual({ ok: true, value: frame })
    })

    it.each([
      ['', 'invalid_frame', 'not valid JSON'],
      ['{', 'invalid_frame', 'not valid JSON'],
      ['null', 'invalid_frame', 'frame must be a JSON object'],
      ['[1,2]', 'invalid_frame', 'frame must be a JSON object'],
      ['"heartbeat"', 'invalid_frame', 'frame must be a JSON object'],
      ['{}', 'invalid_frame', 'frame has no string "type"'],
      ['{"type":7}', 'invalid_frame', 'frame has no string "type"'],
      ['{"type":"publish"}', 'unknown_type', 'unknown type "publish"'],
      ['{"type":"__proto__"}', 'unknown_type', 'unknown type "__proto__"'],
      ['{"type":"toString"}', 'unknown_type', 'unknown type "toString"'],
      ['{"type":"subscribe"}', 'invalid_frame', 'subscribe /channels: Expected required property'],
      [
        '{"type":"subscribe","channels":[]}',
        'invalid_frame',
        'subscribe /channels: Expected array length to be greater or equal to 1',
      ],
      [
        '{"type":"subscribe","channels":"events:tasks"}',
        'invalid_frame',
        'subscribe /channels: Expected array',
      ],
      [
        '{"type":"subscribe","channels":[""]}',
        'invalid_frame',
        'subscribe /channels/0: Expected string length greater or equal to 1',
      ],
      [
        '{"type":"subscribe","channels":[42]}',
        'invalid_frame',
        'subscribe /channels/0: Expected string',
      ],
      [
        JSON.stringify({ type: 'subscribe', channels: Array(101).fill('events:tasks') }),
        'invalid_frame',
        'subscribe /channels: Expected array length to be less or equal to 100',
      ],
      [
        '{"type":"unsubscribe","channels":["x"],"id":{"a":1}}',
        'invalid_frame',
        'unsubscribe /id: Expected union value',
      ],
    ])('rejects %j', (text, code, message) => {
      const result = parseClientFrame(text)
      expect(result).toMatchObject({ ok: false, error: { code } })
      expect(result.ok ? '' : result.error.message.slice(0, message.length)).toBe(message)
    })

    it('survives deep nesting and binary garbage without throwing', () => {
      expect(parseClientFrame('['.repeat(100_000)).ok).toBe(false)
      expect(parseClientFrame('\u0000\uffff\ud800').ok).toBe(false)
      expect(
        parseClientFrame(JSON.stringify({ type: 'heartbeat', extra: 'x'.repeat(10_000) })).ok,
      ).toBe(true)
    })
  })

  describe('parseServerMessage', () => {
    it('tells events from control frames', () => {
      const event = {
        event_type: 'system.heartbeat',
        timestamp: '2026-01-10T09:00:00Z',
        service: 'worker',
        instance_id: 'w1',
        uptime_seconds: 1,
        status: 'ok',
      }
      expect(parseServerMessage(JSON.stringify(event))).toEqual({
        ok: true,
        value: { kind: 'event', event },
      })
      const ack = {
        type: 'subscribed',
        results: [{ channel: 'x', ok: false, code: 'invalid_channel', message: 'no' }],
      }
      expect(parseServerMessage(JSON.stringify(ack))).toEqual({
        ok: true,
        value: { kind: 'frame', frame: ack },
      })
      const batch = { type: 'batch', events: [event, event] }
      expect(parseServerMessage(JSON.stringify(batch))).toEqual({
        ok: true,
        value: { kind: 'frame', frame: batch },
      })
    })

    it('reads 1.1 acks with recovery and position, and stale-task notices', () => {
      const ack = {
        type: 'subscribed',
        results: [{ channel: 'events:tasks', ok: true, recovered: false, position: 'e1:17-0' }],
      }
      expect(parseServerMessage(JSON.stringify(ack))).toEqual({
        ok: true,
        value: { kind: 'frame', frame: ack },
      })
      const badPosition = {
        type: 'subscribed',
        results: [{ channel: 'x', ok: true, position: '17-0' }],
      }
      expect(parseServerMessage(JSON.stringify(badPosition)).ok).toBe(false)
      const notice = { type: 'notice', code: 'task_stale', message: 'silent', task_id: 'calc_1' }
      expect(parseServerMessage(JSON.stringify(notice))).toEqual({
        ok: true,
        value: { kind: 'frame', frame: notice },
      })
    })

    it('refuses a batch holding an invalid event and an ack with an unknown error code', () => {
      expect(
        parseServerMessage('{"type":"batch","events":[{"event_type":"task.progress"}]}').ok,
      ).toBe(false)
      const ack = {
        type: 'subscribed',
        results: [{ channel: 'x', ok: false, code: 'nope', message: '' }],
      }
      expect(parseServerMessage(JSON.stringify(ack)).ok).toBe(false)
    })
  })

  describe('validateRunRequest', () => {
    it.each([
      [{}, undefined],
      [{ stocks: 300, days: 250, seed: 7, indicators: ['RSI'], task_id: 'calc_1' }, undefined],
      [{ stocks: 0 }, 'stocks: Expected integer to be greater or equal to 1'],
      [{ stocks: 1.5 }, 'stocks: Expected integer'],
      [{ days: 20_001 }, 'days: Expected integer to be less or equal to 20000'],
      [{ indicators: [] }, 'indicators: Expected array length to be greater or equal to 1'],
      [{ task_id: 'a b' }, "task_id: Expected string to match '^[A-Za-z0-9_.-]{1,64}$'"],
      [{ pace: 5 }, 'pace: Unexpected property'],
      [[], 'Expected object'],
    ])('%j -> %s', (body, reason) => {
      const result = validateRunRequest(body)
      expect(result).toEqual(
        reason === undefined ? { ok: true, value: body } : { ok: false, reason },
      )
    })
  })
})
