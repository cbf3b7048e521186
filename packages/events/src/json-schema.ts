import type { TSchema } from '@sinclair/typebox'
import { ApiRefusal, SessionResponse, StockResultsResponse, StoredStockResult } from './api.js'
import { EventSchemas, StockPulseEvent } from './events.js'
import { RunHistoryResponse } from './history.js'
import { ClientFrame, ServerFrame } from './protocol.js'
import { RunAccepted, RunRequest, ScheduleResponse, WorkerInfo, WorkersResponse } from './runs.js'

const SCHEMAS: readonly TSchema[] = [
  ...Object.values(EventSchemas),
  StockPulseEvent,
  ...ClientFrame.anyOf,
  ClientFrame,
  ...ServerFrame.anyOf,
  ServerFrame,
  RunHistoryResponse,
  SessionResponse,
  StoredStockResult,
  StockResultsResponse,
  ApiRefusal,
  RunRequest,
  RunAccepted,
  WorkerInfo,
  WorkersResponse,
  ScheduleResponse,
]

/**
 * Every top-level schema as plain JSON Schema (draft 2020-12), keyed by `$id`: what
 * `schema/<$id>.json` holds, for producers and consumers outside TypeScript.
 */
export function jsonSchemas(): Record<string, object> {
  return Object.fromEntries(
    SCHEMAS.map((schema) => {
      const id = schema.$id as string
      const plain = JSON.parse(JSON.stringify(schema)) as object
      return [id, { $schema: 'https://json-schema.org/draft/2020-12/schema', ...plain }]
    }),
  )
}
