import { type Static, Type } from '@sinclair/typebox'
import { POSITION_PATTERN, TaskCompletedEvent } from './events.js'

// Every event published on a channel is also appended to a capped Redis Stream for that channel.
// Its position is "<epoch>:<stream id>": the epoch changes when the streams were lost (Redis
// restarted without persistence), so a position from another epoch can never be resumed. Every
// event also gets the next number of one counter (`seq`, since 1.2), in the same atomic step, so
// the events of several channels can be put back in the order they were published.

const POSITION_RE = new RegExp(POSITION_PATTERN)

export interface ParsedPosition {
  readonly epoch: string
  /** The Redis stream id, `<ms>-<seq>`. */
  readonly id: string
}

/** Splits a position; undefined when it is not one. */
export function parsePosition(position: string): ParsedPosition | undefined {
  if (!POSITION_RE.test(position)) return undefined
  const colon = position.indexOf(':')
  return { epoch: position.slice(0, colon), id: position.slice(colon + 1) }
}

export const formatPosition = (epoch: string, id: string): string => `${epoch}:${id}`

/** Orders two Redis stream ids (`<ms>-<seq>`) numerically: negative, zero or positive. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs = '', aSeq = ''] = a.split('-')
  const [bMs = '', bSeq = ''] = b.split('-')
  return compareDigits(aMs, bMs) || compareDigits(aSeq, bSeq)
}

// ---- Redis keys shared by the worker (writer) and the gateway (reader) ----

/** Default prefix of every key below; both sides must be configured with the same one. */
export const DEFAULT_KEY_PREFIX = 'stockpulse:'

/** The Redis keys of the history, for one key prefix. */
export function historyKeys(prefix: string = DEFAULT_KEY_PREFIX) {
  return {
    /** String: the current epoch. Created by the first publish after it is lost. */
    epoch: `${prefix}history:epoch`,
    /** Integer: the `seq` of the latest event; starts again from 1 with a new epoch. */
    seq: `${prefix}history:seq`,
    /** Stream of one channel's events, capped with `XADD MAXLEN ~`. */
    stream: (channel: string) => `${prefix}history:${channel}`,
    /** Hash: task id -> the latest `task.progress` of each task still running (JSON). */
    tasks: `${prefix}tasks`,
    /** List, newest first: the `task.completed` of the last runs (JSON). */
    runs: `${prefix}runs`,
    /** Hash of one task: stock code -> its `StoredStockResult` (JSON). */
    results: (taskId: string) => `${prefix}results:${taskId}`,
  } as const
}
export type HistoryKeys = ReturnType<typeof historyKeys>

// ---- Run history ----

/** How many runs are kept when nothing else is configured. */
export const DEFAULT_RUN_HISTORY = 30

/** Body of `GET /ws/history`: the last runs, newest first. */
export const RunHistoryResponse = Type.Object(
  { runs: Type.Array(TaskCompletedEvent) },
  { $id: 'RunHistoryResponse', description: 'The last runs (task.completed events), newest first' },
)
export type RunHistoryResponse = Static<typeof RunHistoryResponse>

function compareDigits(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '')
  const y = b.replace(/^0+(?=\d)/, '')
  return x.length - y.length || (x < y ? -1 : x > y ? 1 : 0)
}
