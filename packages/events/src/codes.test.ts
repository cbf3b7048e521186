import { describe, expect, it } from 'vitest'
import { CLOSE_CODES, CloseCode, ErrorCode, SCOPES, Scope, shouldReconnect } from './codes.js'

describe('codes', () => {
  it('exposes each close code by name', () => {
    expect(CloseCode.SLOW_CLIENT).toBe(4002)
    expect(CloseCode.MESSAGE_TOO_BIG).toBe(1009)
    expect(ErrorCode.INVALID_CHANNEL).toBe('invalid_channel')
    expect(new Set(Object.values(CloseCode)).size).toBe(Object.keys(CLOSE_CODES).length)
  })

  it('names the scopes a token may carry', () => {
    expect(Scope.ADMIN).toBe('stockpulse:admin')
    expect(Scope.OPERATE).toBe('stockpulse:operate')
    expect(Object.keys(SCOPES)).toEqual(['ADMIN', 'OPERATE'])
  })

  it.each([
    [CloseCode.SHUTDOWN, true],
    [CloseCode.HEARTBEAT_TIMEOUT, true],
    [CloseCode.SLOW_CLIENT, true],
    [CloseCode.SERVER_FULL, true],
    [CloseCode.RATE_LIMITED, true],
    [CloseCode.TOKEN_EXPIRED, true],
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
