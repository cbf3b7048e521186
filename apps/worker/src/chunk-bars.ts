import { stat } from 'node:fs/promises'
import { basename } from 'node:path'
import type { ChunkJobData } from './chunk-job.js'
import type { WorkerConfig } from './config.js'
import { type CsvUniverse, readCsvUniverse } from './csv.js'
import type { DailyBarsReader } from './daily-bars-reader.js'
import type { PackedBars } from './packed-bars.js'
import { csvWindow, packStocks, type SourceSpec } from './source.js'

/** What the compute threads load a chunk from, and the bars read for it on this thread. */
export interface ChunkSource {
  readonly source: SourceSpec
  readonly bars?: PackedBars
}

/**
 * Where a queued run's chunk finds its bars on the worker that runs it: this worker's own csv
 * path and database, never a path or a connection from the job. Rejects (the chunk is tried
 * again, perhaps on another worker) when this worker has no csv path or no database.
 */
export interface ChunkBars {
  read(data: ChunkJobData): Promise<ChunkSource>
}

interface IndexedCsv {
  readonly file: CsvUniverse
  /** Position of each code in `file.codes`. */
  readonly at: ReadonlyMap<string, number>
}

/** `reader`: the bars table of this worker's database, when it has one. */
export function createChunkBars(
  config: WorkerConfig,
  reader: DailyBarsReader | undefined,
): ChunkBars {
  // The long csv file read last, kept while its path, size, mtime and window stay the same:
  // every chunk of a run reads the same file, parsed once per worker.
  let last: { key: string; universe: Promise<IndexedCsv> } | undefined

  return {
    async read(data) {
      const source = data.source
      if (source.kind === 'synthetic') return { source }
      if (source.kind === 'postgres') {
        if (!reader) {
          throw new Error(
            'this worker has no database (serve --database-url URL): a postgres run needs every worker to have one',
          )
        }
        return {
          source: { kind: 'preloaded' },
          bars: await reader.read(data.codes, source),
        }
      }
      const path = config.job.source === 'csv' ? config.job.dataPath : undefined
      if (path === undefined) {
        throw new Error(
          'this worker reads no csv data (serve --source csv --data PATH): a csv run needs every worker to have it',
        )
      }
      const own = { ...source, path }
      const found = await stat(path)
      if (found.isDirectory()) return { source: own }
      const key = JSON.stringify([
        path,
        found.size,
        found.mtimeMs,
        own.date,
        own.days,
        own.dialect,
        own.stocks,
      ])
      if (last?.key !== key) {
        const universe = readCsvUniverse(path, csvWindow(own), own.stocks).then(
          (file): IndexedCsv => ({
            file,
            at: new Map(file.codes.map((code, i) => [code, i])),
          }),
        )
        last = { key, universe }
        universe.catch(() => {
          if (last?.universe === universe) last = undefined
        })
      }
      const { file: parsed, at } = await last.universe
      const label = basename(path)
      const bars = packStocks(data.codes.length, own.days, (i) => {
        const code = data.codes[i]!
        const index = at.get(code)
        return index === undefined ? `${label}: no stock ${code}` : parsed.bars(index)
      })
      return { source: { kind: 'preloaded' }, bars }
    },
  }
}
