import { describe, expect, it } from 'vitest'
import { fingerprint } from './fingerprint.js'

describe('fingerprint', () => {
  it('is 16 hex digits, equal for equal bytes wherever they sit', () => {
    const values = Float64Array.from({ length: 500 }, (_, i) => Math.sin(i) * 100)
    const inside = new Float64Array(600)
    inside.set(values, 100)
    expect(fingerprint(values)).toMatch(/^[0-9a-f]{16}$/)
    expect(fingerprint(inside.subarray(100))).toBe(fingerprint(values))
  })

  it('changes with any single value, and with the length', () => {
    const values = Float64Array.from({ length: 250 }, (_, i) => 10 + i / 100)
    const seen = new Set([fingerprint(values)])
    for (const i of [0, 1, 124, 249]) {
      const changed = values.slice()
      changed[i] = changed[i]! + 0.01
      seen.add(fingerprint(changed))
    }
    seen.add(fingerprint(values.subarray(0, 249)))
    expect(seen.size).toBe(6)
  })
})
