import { describe, expect, it } from 'vitest'
import { MAX_RUN_REQUEST_BYTES, parseRunRequest } from './requests.js'

describe('requests', () => {
  it.each([
    ['', { ok: true, request: {} }],
    [
      '{"stocks":300,"indicators":["RSI","MACD"]}',
      { ok: true, request: { stocks: 300, indicators: ['RSI', 'MACD'] } },
    ],
    ['nope', 'the body is not JSON'],
    ['{"stocks":"300"}', 'stocks: Expected integer'],
    ['{"days":0}', 'days: Expected integer to be greater or equal to 1'],
    ['{"pace":1}', 'pace: Unexpected property'],
    ['{"__proto__":{"x":1}}', '__proto__: Unexpected property'],
    [
      '{"indicators":["NOPE"]}',
      "indicators: Unknown indicator id 'NOPE': expected SMA_<n>, EMA_<n>, MACD[_<fast>_<slow>_<signal>], RSI[_<n>], BBANDS[_<n>_<k>], ATR[_<n>] or KDJ[_<n>_<m1>_<m2>]",
    ],
    ['{"task_id":"../x"}', "task_id: Expected string to match '^[A-Za-z0-9_.-]{1,64}$'"],
  ])('%s', (body, expected) => {
    const result = parseRunRequest(body)
    if (typeof expected !== 'string') expect(result).toEqual(expected)
    else {
      expect(result).toEqual({
        ok: false,
        outcome: { status: 400, body: { error: 'invalid_request', reason: expected } },
      })
    }
  })

  it('bounds a body', () => {
    expect(MAX_RUN_REQUEST_BYTES).toBe(4096)
  })
})
