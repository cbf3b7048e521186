import type { IndicatorValuesWriter } from './indicator-values.js'
import type { StockResult } from './result-file.js'

/** What a task's value writes came to. */
export interface ValueWritesReport {
  readonly chunks: number
  readonly rows: number
  readonly failedChunks: number
  /** The first write error, when a chunk could not be written. */
  readonly firstError?: Error
  /** Time the writes took, summed over chunks (they overlap). */
  readonly writeMs: number
}

/** A task's chunk writes to the values table: a few in flight, none awaited one by one. */
export interface ValueWrites {
  /** Starts writing one chunk's results; resolves once another write may start. */
  add(results: readonly StockResult[]): Promise<void>
  /** Waits for every write started so far. */
  settle(): Promise<ValueWritesReport>
}

/** At most `maxInFlight` chunk writes at a time (each one statement, so one connection). */
export function createValueWrites(
  writer: IndicatorValuesWriter,
  taskId: string,
  maxInFlight: number,
): ValueWrites {
  const inflight = new Set<Promise<void>>()
  let chunks = 0
  let rows = 0
  let failedChunks = 0
  let firstError: Error | undefined
  let writeMs = 0
  return {
    async add(results) {
      if (results.length === 0) return
      chunks++
      const started = performance.now()
      const write = writer.write(taskId, results).then(
        (written) => {
          rows += written
        },
        (error: unknown) => {
          failedChunks++
          firstError ??= error as Error
        },
      )
      const tracked = write.finally(() => {
        writeMs += performance.now() - started
        inflight.delete(tracked)
      })
      inflight.add(tracked)
      while (inflight.size >= maxInFlight) await Promise.race(inflight)
    },
    async settle() {
      await Promise.all(inflight)
      return { chunks, rows, failedChunks, ...(firstError ? { firstError } : {}), writeMs }
    },
  }
}
