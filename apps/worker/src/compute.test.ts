import { mkdtemp, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { DEFAULT_INDICATORS } from '@stockpulse/indicators'
import { startNode } from '@stockpulse/testing'
import { describe, expect, it } from 'vitest'
import { createComputeEngine } from './compute.js'
import { createInlineExecutor, createThreadPool } from './executor.js'
import { syntheticCodes } from './synthetic.js'
import { THREAD_URL } from './test-support/events.js'

describe('compute', () => {
  // Measured in a process of its own: in the test runner, other files' buffers would count too.
  it('keeps one set of output buffers, however many lengths its stocks have', async () => {
    const probe = startNode(await bufferProbe(), [], { nodeArgs: ['--expose-gc'] })
    await probe.expectExit(0)
    const { growth, indicators } = JSON.parse(probe.stdout) as {
      growth: number
      indicators: number
    }
    // 40 more lengths: a set of 15 outputs x ~19,700 bars (2.4 MB) for each would be ~95 MB.
    expect(growth).toBeLessThan(16 * 2 ** 20)
    expect(indicators).toBe(9)
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

  it('loads and computes a chunk in one step (run) as in two, inline and on the threads', async () => {
    const source = {
      kind: 'synthetic',
      stocks: 700,
      days: 120,
      seed: 7,
      date: '2026-01-09',
    } as const
    const setup = { indicators: DEFAULT_INDICATORS, source }
    // Stock 100 has too short a history, stock 600 a NaN high (ATR and KDJ fail).
    const chunks = [95, 595].map((start) => ({
      start,
      codes: syntheticCodes(700).slice(start, start + 10),
    }))
    const pool = createThreadPool({ threads: 2, threadUrl: THREAD_URL })
    try {
      for (const executor of [createInlineExecutor(), pool]) {
        for (const chunk of chunks) {
          const { id, stocks } = await executor.prepare(setup, chunk)
          const twoSteps = await executor.compute(id, new Uint8Array(stocks.length * 9).fill(1))
          const oneStep = await executor.run(setup, chunk)
          // The same stocks, without the fingerprints only a cache lookup needs.
          expect(oneStep.stocks.map(({ loadMs, ...stock }) => stock)).toEqual(
            stocks.map(({ loadMs, fingerprint, ...stock }) => stock),
          )
          expect(stocks.filter((s) => s.fingerprint !== undefined).length).toBeGreaterThan(0)
          expect(Array.from(oneStep.computed.values)).toEqual(Array.from(twoSteps.values))
          expect(oneStep.computed.errors).toEqual(twoSteps.errors)
          expect(twoSteps.errors.length + stocks.filter((s) => s.error).length).toBeGreaterThan(0)
        }
      }
    } finally {
      await pool.close()
    }
  })
})

// 48 stocks of 20,000 days with suspensions (nearly every stock has a length of its own), run 8
// at a time through one engine; prints how much the array buffers grew after the first chunk.
async function bufferProbe(): Promise<string> {
  const dist = (module: string) =>
    JSON.stringify(new URL(`../dist/${module}`, import.meta.url).href)
  const indicators = JSON.stringify(
    pathToFileURL(createRequire(import.meta.url).resolve('@stockpulse/indicators')).href,
  )
  const script = join(await mkdtemp(join(tmpdir(), 'stockpulse-compute-')), 'buffers.mjs')
  await writeFile(
    script,
    `import { DEFAULT_INDICATORS } from ${indicators}
import { createComputeEngine } from ${dist('compute.js')}
import { syntheticCodes } from ${dist('synthetic.js')}
const source = { kind: 'synthetic', stocks: 48, days: 20_000, seed: 1, date: '2026-01-09' }
const engine = createComputeEngine({ indicators: DEFAULT_INDICATORS, source })
const codes = syntheticCodes(48)
const run = async (start) => {
  const stocks = await engine.prepare(start, { start, codes: codes.slice(start, start + 8) })
  const computed = engine.compute(start, new Uint8Array(stocks.length * 9).fill(1))
  if (computed.errors.length > 0) throw new Error(JSON.stringify(computed.errors))
}
// Array buffers are freed by a sweeper after the collection: a few rounds let it finish.
const settled = async () => {
  for (let i = 0; i < 4; i++) {
    globalThis.gc()
    await new Promise((resolve) => setTimeout(resolve, 0))
  }
  return process.memoryUsage().arrayBuffers
}
await run(0)
const before = await settled()
for (let start = 8; start < 48; start += 8) await run(start)
const growth = (await settled()) - before
process.stdout.write(JSON.stringify({ growth, indicators: engine.layout.indicators.length }))
`,
  )
  return script
}
