import { describe, expect, it } from 'vitest'
import { compareStreamIds, formatPosition, historyKeys, parsePosition } from './history.js'

describe('history', () => {
  it.each([
    ['k9x2:1732550000000-0', { epoch: 'k9x2', id: '1732550000000-0' }],
    ['a:0-0', { epoch: 'a', id: '0-0' }],
  ])('parses %s', (text, parsed) => {
    expect(parsePosition(text)).toEqual(parsed)
    expect(formatPosition(parsed.epoch, parsed.id)).toBe(text)
  })

  it.each([
    '',
    '1-0',
    'e:1',
    'e:1-',
    'e:-1',
    'e f:1-0',
    'e:1-0 ',
    `${'e'.repeat(33)}:1-0`,
    'e:1-0:2',
  ])('refuses %j', (text) => {
    expect(parsePosition(text)).toBeUndefined()
  })

  it.each([
    ['1-0', '1-0', 0],
    ['1-0', '1-1', -1],
    ['2-0', '1-9', 1],
    ['9-0', '10-0', -1],
    ['1732550000000-10', '1732550000000-9', 1],
    ['18446744073709551615-0', '18446744073709551614-99', 1],
    ['007-0', '7-0', 0],
  ])('compares %s with %s', (a, b, sign) => {
    expect(Math.sign(compareStreamIds(a, b))).toBe(sign)
  })

  it('names the keys under one prefix', () => {
    const keys = historyKeys('sp:')
    expect(keys.epoch).toBe('sp:history:epoch')
    expect(keys.seq).toBe('sp:history:seq')
    expect(keys.stream('events:tasks')).toBe('sp:history:events:tasks')
    expect(keys.tasks).toBe('sp:tasks')
    expect(keys.runs).toBe('sp:runs')
    expect(historyKeys().runs).toBe('stockpulse:runs')
  })
})
