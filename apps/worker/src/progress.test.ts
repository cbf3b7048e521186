import { describe, expect, it } from 'vitest'
import { createProgressThrottle, percent } from './progress.js'

// The stock counts at which a throttle for `total` stocks lets a progress event through.
function emitted(total: number): number[] {
  const due = createProgressThrottle(total)
  const at: number[] = []
  for (let processed = 1; processed <= total; processed++) if (due(processed)) at.push(processed)
  return at
}

describe('progress', () => {
  it.each([
    [1, 1, [1]],
    [49, 49, [1, 2, 3]],
    [50, 50, [1, 2, 3]],
    [51, 51, [1, 2, 3]],
    [101, 51, [2, 4, 6]],
    [333, 87, [4, 8, 12]],
    [5000, 100, [50, 100, 150]],
  ])('%i stocks: %i progress events after the start, the last at 100', (total, count, first) => {
    const at = emitted(total)
    expect(at).toHaveLength(count)
    expect(at.slice(0, 3)).toEqual(first.slice(0, Math.min(3, total)))
    expect(at.at(-1)).toBe(total)
    expect(percent(at.at(-1)!, total)).toBe(100)
  })

  it('publishes after 50 stocks even when that is less than one point', () => {
    const at = emitted(333)
    expect(at).toContain(50)
    expect(at).toContain(54)
  })

  it('rounds percent to two decimals and says 0 for an empty universe', () => {
    expect(percent(1, 3)).toBe(33.33)
    expect(percent(2, 3)).toBe(66.67)
    expect(percent(0, 0)).toBe(0)
  })
})
