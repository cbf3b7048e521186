import { isIdentifier } from '@stockpulse/events/identifier'
import { resolveIndicators } from '@stockpulse/indicators'
import { epochDay } from './bars.js'
import { CSV_DIALECTS } from './csv-dialects.js'
import { MAX_DAYS, MAX_STOCKS } from './limits.js'
import type { JobSource } from './source.js'

/** What a chunk job carries: everything a worker needs to compute and publish its stocks. */
export interface ChunkJobData {
  readonly task_id: string
  /** Position of the chunk in its run, from 0. */
  readonly index: number
  /** Position of its first stock in the run's universe. */
  readonly start: number
  readonly codes: readonly string[]
  /**
   * Synthetic bars, or what the executing worker reads with its own configuration: its csv path
   * (this `path` is the starting worker's, never read) or its database's bars table.
   */
  readonly source: JobSource
  readonly indicators: readonly string[]
  /**
   * `postgres`: the chunk's values are upserted into the executing worker's database, one
   * transaction per chunk, before its stocks are published. Set by the worker that started the
   * run, from its `--sink`.
   */
  readonly sink?: 'postgres'
  /** Stocks per second at most, for the whole run on this worker (the demo). */
  readonly pace?: number
}

/** Most stocks in one chunk job. */
export const MAX_CHUNK_STOCKS = 10_000

/**
 * Checks a chunk job's data (it comes from Redis: hostile until checked): the data, or why it
 * is refused. A refused chunk fails for good, and its stocks are marked failed with the reason.
 */
export function parseChunkJob(data: unknown): ChunkJobData | string {
  if (!isRecord(data)) return 'chunk data is not an object'
  const { task_id, index, start, codes, source, indicators, pace, sink } = data
  if (!isIdentifier(task_id)) return 'chunk task_id is not an identifier'
  if (!isCount(index, 1_000_000)) return 'chunk index is not a count'
  if (!isCount(start, MAX_STOCKS)) return 'chunk start is not a count'
  if (
    !Array.isArray(codes) ||
    codes.length === 0 ||
    codes.length > MAX_CHUNK_STOCKS ||
    !codes.every(isIdentifier)
  ) {
    return `chunk codes are not 1 to ${MAX_CHUNK_STOCKS} stock codes`
  }
  if (
    !Array.isArray(indicators) ||
    indicators.length === 0 ||
    indicators.length > 64 ||
    !indicators.every((id) => typeof id === 'string')
  ) {
    return 'chunk indicators are not a list of indicator ids'
  }
  try {
    resolveIndicators(indicators as string[])
  } catch (error) {
    return `chunk indicators: ${(error as Error).message}`
  }
  if (pace !== undefined && !(typeof pace === 'number' && pace >= 1 && Number.isFinite(pace))) {
    return 'chunk pace is not a number of at least 1'
  }
  if (sink !== undefined && sink !== 'postgres') return 'chunk sink is not postgres'
  const checked = checkSource(source)
  if (typeof checked === 'string') return checked
  return {
    task_id,
    index: index as number,
    start: start as number,
    codes: codes as string[],
    source: checked,
    indicators: indicators as string[],
    ...(pace === undefined ? {} : { pace: pace as number }),
    ...(sink === undefined ? {} : { sink }),
  }
}

function checkSource(source: unknown): ChunkJobData['source'] | string {
  if (!isRecord(source)) return 'chunk source is not an object'
  const { kind, stocks, days, seed, date } = source
  if (!isCount(days, MAX_DAYS) || days === 0) return 'chunk source days is out of range'
  if (typeof date !== 'string' || epochDay(date) === undefined) {
    return 'chunk source date is not YYYY-MM-DD'
  }
  if (kind === 'synthetic') {
    if (!isCount(stocks, MAX_STOCKS) || stocks === 0) return 'chunk source stocks is out of range'
    if (!Number.isSafeInteger(seed)) return 'chunk source seed is not an integer'
    return { kind, stocks: stocks as number, days: days as number, seed: seed as number, date }
  }
  if (kind === 'csv') {
    const { path, dialect } = source
    if (typeof path !== 'string' || path.length === 0) return 'chunk source path is not a path'
    if (stocks !== undefined && (!isCount(stocks, MAX_STOCKS) || stocks === 0)) {
      return 'chunk source stocks is out of range'
    }
    const known = CSV_DIALECTS.find((name) => name === dialect)
    if (!known) return 'chunk source dialect is unknown'
    return {
      kind,
      path,
      stocks: stocks as number | undefined,
      days: days as number,
      date,
      dialect: known,
    }
  }
  if (kind === 'postgres') {
    if (stocks !== undefined && (!isCount(stocks, MAX_STOCKS) || stocks === 0)) {
      return 'chunk source stocks is out of range'
    }
    return { kind, stocks: stocks as number | undefined, days: days as number, date }
  }
  return 'chunk source kind is not synthetic, csv or postgres'
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isCount(value: unknown, max: number): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= max
}
