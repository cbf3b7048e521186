import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createChunkBars } from './chunk-bars.js'
import type { ChunkJobData } from './chunk-job.js'
import { parseConfig } from './config.js'
import { unpackBars } from './packed-bars.js'

const context = { cores: 2, hostname: 'test', pid: 1 }
const HEADER = 'code,date,open,high,low,close,volume'

describe('chunk-bars', () => {
  let dir: string
  let file: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chunk-bars-'))
    file = join(dir, 'bars.csv')
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  const chunk = (codes: string[]): ChunkJobData => ({
    task_id: 'calc_1',
    index: 0,
    start: 0,
    codes,
    // The starting worker's path: never read here.
    source: {
      kind: 'csv',
      path: '/elsewhere',
      stocks: undefined,
      days: 10,
      date: '2026-01-09',
      dialect: 'auto',
    },
    indicators: ['SMA_5'],
  })

  it("reads a chunk's stocks from this worker's own long file, again once the file changed", async () => {
    await writeFile(file, `${HEADER}\nB,2026-01-08,1,2,1,2,10\nA,2026-01-08,1,2,1,1.5,10\n`)
    const bars = createChunkBars(
      parseConfig(['serve', '--source', 'csv', '--data', file], {}, context),
      undefined,
    )
    const first = await bars.read(chunk(['A', 'NOPE', 'B']))
    expect(first.source).toEqual({ kind: 'preloaded' })
    expect(unpackBars(first.bars!, 0, 'A').close[0]).toBe(1.5)
    expect(() => unpackBars(first.bars!, 1, 'NOPE')).toThrow('bars.csv: no stock NOPE')
    expect(unpackBars(first.bars!, 2, 'B').close[0]).toBe(2)

    await writeFile(file, `${HEADER}\nA,2026-01-08,1,2,1,1.75,10\n`)
    await utimes(file, new Date(), new Date(Date.now() + 10_000))
    const second = await bars.read(chunk(['A']))
    expect(unpackBars(second.bars!, 0, 'A').close[0]).toBe(1.75)
  })

  it("hands a csv directory's chunk to the compute threads, with this worker's own path", async () => {
    const bars = createChunkBars(
      parseConfig(['serve', '--source', 'csv', '--data', dir], {}, context),
      undefined,
    )
    expect(await bars.read(chunk(['A']))).toEqual({ source: { ...chunk([]).source, path: dir } })
  })
})
