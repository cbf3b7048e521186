import { type Static, Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Identifier, Timestamp } from './events.js'

// ---- Runs: the HTTP control API of the gateway (and `stockpulse-worker submit|cancel`) ----

/** Slowest pace a run may be given, in stocks per second: a 2-stock run at 0.0001/s would last days. */
export const MIN_PACE = 1
/** Most stocks one run may ask for. */
export const MAX_RUN_STOCKS = 100_000
/** Most bars per stock one run may ask for. */
export const MAX_RUN_DAYS = 20_000

/** Body of `POST /api/runs`: omitted fields take the workers' defaults; unknown fields are refused. */
export const RunRequest = Type.Object(
  {
    stocks: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_RUN_STOCKS })),
    days: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_RUN_DAYS })),
    seed: Type.Optional(Type.Integer({ minimum: -2_147_483_648, maximum: 2_147_483_647 })),
    indicators: Type.Optional(
      Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 64 }),
    ),
    task_id: Type.Optional(Identifier),
  },
  {
    $id: 'RunRequest',
    additionalProperties: false,
    description: 'Start a run now (POST /api/runs); omitted fields take the worker defaults',
  },
)
export type RunRequest = Static<typeof RunRequest>

/** 202 answer of `POST /api/runs` and `POST /api/runs/{task_id}/cancel`. */
export const RunAccepted = Type.Object(
  { task_id: Identifier },
  { $id: 'RunAccepted', description: 'The run was admitted (or its cancellation recorded)' },
)
export type RunAccepted = Static<typeof RunAccepted>

/** Machine-readable reasons a run request or a cancel is refused. */
export const RunErrorCode = {
  /** 400: the body is not a valid RunRequest. */
  INVALID_REQUEST: 'invalid_request',
  /** 409: a run is running and runs may not overlap. */
  RUN_IN_PROGRESS: 'run_in_progress',
  /** 409: a run with this task id exists already. */
  RUN_EXISTS: 'run_exists',
  /** 409: the run has finished (or is finishing): nothing left to cancel. */
  RUN_FINISHED: 'run_finished',
  /** 404: no run has this id. */
  UNKNOWN_RUN: 'unknown_run',
  /**
   * 415: the request's `content-type` is not `application/json` (a web page cannot send that to
   * another origin without a CORS preflight, which the gateway never grants).
   */
  UNSUPPORTED_MEDIA_TYPE: 'unsupported_media_type',
  /** 503: Redis or the queue cannot be reached, or the gateway runs without Redis. */
  UNAVAILABLE: 'unavailable',
} as const
export type RunErrorCode = (typeof RunErrorCode)[keyof typeof RunErrorCode]

/** One `stockpulse-worker serve` process, as its last heartbeat described it. */
export const WorkerInfo = Type.Object(
  {
    instance_id: Identifier,
    host: Type.String(),
    threads: Type.Integer({ minimum: 1 }),
    chunks_done: Type.Integer({ minimum: 0 }),
    current_chunk: Type.Optional(
      Type.String({ description: '"<task_id>#<index>" of a chunk it is computing' }),
    ),
    status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('stopping')]),
    last_seen: Timestamp,
    uptime_seconds: Type.Number({ minimum: 0 }),
  },
  { $id: 'WorkerInfo' },
)
export type WorkerInfo = Static<typeof WorkerInfo>

/** Body of `GET /api/workers`: the workers heard from in the last 10 minutes. */
export const WorkersResponse = Type.Object(
  { workers: Type.Array(WorkerInfo) },
  { $id: 'WorkersResponse', description: 'The serve workers heard from in the last 10 minutes' },
)
export type WorkersResponse = Static<typeof WorkersResponse>

/** Body of `GET /api/schedule`: the fleet's daily run (one BullMQ job scheduler). */
export const ScheduleResponse = Type.Object(
  {
    cron: Type.String({ description: 'Cron pattern, e.g. "30 16 * * 1-5"' }),
    tz: Type.String({ description: 'IANA time zone of the pattern' }),
    next_run_at: Type.Union([Timestamp, Type.Null()], {
      description: 'When it fires next; null while no worker has set it up',
    }),
  },
  { $id: 'ScheduleResponse', description: "The fleet's scheduled run" },
)
export type ScheduleResponse = Static<typeof ScheduleResponse>

// ---- Validation (compiled once) ----

const RunRequestCheck = TypeCompiler.Compile(RunRequest)

/** A request body as parsed JSON, checked: the request, or the first reason it is refused. */
export function validateRunRequest(
  value: unknown,
):
  | { readonly ok: true; readonly value: RunRequest }
  | { readonly ok: false; readonly reason: string } {
  if (RunRequestCheck.Check(value)) return { ok: true, value }
  const first = RunRequestCheck.Errors(value).First()
  const where = first?.path ? `${first.path.slice(1).replaceAll('/', '.')}: ` : ''
  return { ok: false, reason: `${where}${first?.message ?? 'not a run request'}` }
}

const WorkerInfoCheck = TypeCompiler.Compile(WorkerInfo)

/** Whether a value (a registry entry from Redis) is a valid WorkerInfo. */
export function isWorkerInfo(value: unknown): value is WorkerInfo {
  return WorkerInfoCheck.Check(value)
}

const ScheduleResponseCheck = TypeCompiler.Compile(ScheduleResponse)

/** Whether a value (a `GET /api/schedule` body) is a valid ScheduleResponse. */
export function isScheduleResponse(value: unknown): value is ScheduleResponse {
  return ScheduleResponseCheck.Check(value)
}
