import { describe, expect, it } from 'vitest'
import { CLOSE_CODES, CloseCode, ErrorCode, shouldReconnect } from './codes.js'

describe('codes', () => {
  it('exposes each close code by name', () => {
    expect(CloseCode.SLOW_CLIENT).toBe(4002)
    expect(CloseCode.MESSAGE_TOO_BIG).toBe(1009)
    expect(ErrorCode.INVALID_CHANNEL).toBe('invalid_channel')
    expect(new Set(Object.values(CloseCode)).size).toBe(Object.keys(CLOSE_CODES).length)
  })

  it.each([
    [CloseCode.SHUTDOWN, true],
    [CloseCode.HEARTBEAT_TIMEOUT, true],
    [CloseCode.SLOW_CLIENT, true],
    [CloseCode.SERVER_FULL, true],
    [1001, true],
    [1006, true],
    [CloseCode.UNAVAILABLE, true],
    [3000, true],
    [CloseCode.NORMAL, false],
    [CloseCode.MESSAGE_TOO_BIG, false],
    [1008, false],
    [CloseCode.UNAUTHORIZED, false],
    [CloseCode.FORBIDDEN_ORIGIN, false],
    [CloseCode.PROTOCOL_VIOLATION, false],
    [3500, false],
    [4999, false],
  ])('shouldReconnect(%i) is %s', (code, expected) => {
    expect(shouldReconnect(code)).toBe(expected)
  })
})
