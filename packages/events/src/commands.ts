import { type Static, Type } from '@sinclair/typebox'
import { Identifier } from './events.js'

/**
 * Slowest pace a job may be given, in stocks per second: a 2-stock job at 0.0001/s would hold
 * the worker for days.
 */
export const MIN_PACE = 1

/** Redis Pub/Sub channel a `stockpulse-worker serve` listens on for commands. */
export const WORKER_COMMANDS = 'commands:worker'

export const StartTaskCommand = Type.Object(
  {
    command: Type.Literal('start'),
    task_id: Type.Optional(Identifier),
    user_id: Type.Optional(Identifier),
    stocks: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    days: Type.Optional(Type.Integer({ minimum: 1, maximum: 20_000 })),
    seed: Type.Optional(Type.Integer()),
    date: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })),
    indicators: Type.Optional(Type.Array(Type.String(), { minItems: 1, maxItems: 64 })),
    pace: Type.Optional(
      Type.Number({ minimum: MIN_PACE, description: `stocks per second, at least ${MIN_PACE}` }),
    ),
  },
  {
    $id: 'StartTaskCommand',
    description: 'Start a job now; omitted fields take the worker defaults',
  },
)
export type StartTaskCommand = Static<typeof StartTaskCommand>

export const CancelTaskCommand = Type.Object(
  { command: Type.Literal('cancel'), task_id: Identifier },
  {
    $id: 'CancelTaskCommand',
    description: 'Cancel a running task; it ends with status "cancelled"',
  },
)
export type CancelTaskCommand = Static<typeof CancelTaskCommand>

export const WorkerCommand = Type.Union([StartTaskCommand, CancelTaskCommand], {
  $id: 'WorkerCommand',
})
export type WorkerCommand = Static<typeof WorkerCommand>
