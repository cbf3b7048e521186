import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { DEFAULT_INDICATORS } from '@stockpulse/indicators'
import { describe, expect, it } from 'vitest'
import { type ChunkSpec, createComputeEngine } from './compute.js'
import { syntheticCodes } from './synthetic.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

describe('compute', () => {
  it('keeps one set of output buffers, however many lengths its stocks have', async () => {
    // 20,000 days with suspensions: nearly every stock has a length of its own.
    const source = {
      kind: 'synthetic',
      stocks: 48,
      days: 20_000,
      seed: 1,
      date: '2026-01-09',
    } as const
    const engine = createComputeEngine({ indicators: DEFAULT_INDICATORS, source })
    const codes = syntheticCodes(48)
    const run = async (id: number, chunk: ChunkSpec) => {
      const stocks = await engine.prepare(id, chunk)
      const computed = engine.compute(id, new Uint8Array(stocks.length * 9).fill(1))
      expect(computed.errors).toEqual([])
    }
    await run(0, { start: 0, codes: codes.slice(0, 8) })
    gc()
    const before = process.memoryUsage().arrayBuffers
    for (let start = 8; start < 48; start += 8) {
      await run(start, { start, codes: codes.slice(start, start + 8) })
    }
    gc()
    // 40 more lengths: a set of 15 outputs x ~19,700 bars (2.4 MB) for each would be ~95 MB.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 2 ** 20)
    expect(engine.layout.indicators).toHaveLength(9)
  })

  it('computes a stock after a longer one as it would alone', async () => {
    const source = { kind: 'synthetic', stocks: 5, days: 300, seed: 4, date: '2026-01-09' } as const
    const setup = { indicators: DEFAULT_INDICATORS, source }
    // With seed 4, stock 3 trades all 300 days and stock 4, suspended for a while, 271.
    const [after, alone] = [createComputeEngine(setup), createComputeEngine(setup)]
    const need = (stocks: number) => new Uint8Array(stocks * 9).fill(1)
    const [long, short] = await after.prepare(0, { start: 3, codes: ['a', 'b'] })
    await alone.prepare(0, { start: 4, codes: ['b'] })
    expect(long!.fingerprint).not.toBe(short!.fingerprint)
    const both = after.compute(0, need(2))
    const one = alone.compute(0, need(1))
    const slots = after.layout.slots
    expect(Array.from(both.values.subarray(slots))).toEqual(Array.from(one.values))
    expect(Array.from(one.values).every(Number.isFinite)).toBe(true)
  })
})
