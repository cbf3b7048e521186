import {
  createTaskProgressEvent,
  type Failure,
  type HistoryKeys,
  INDICATORS_ALL,
  MARKET_ALL,
  type MarketSnapshotEvent,
  marketChannel,
  type StockIndicatorsCompletedEvent,
  TASKS_ALL,
  type TaskCompletedEvent,
  taskChannel,
} from '@stockpulse/events'
import { RUN_TTL_SECONDS, type RunKeys } from '@stockpulse/runs'
import { epochOrigin, type LoadedScript, loadedScript, PUBLISH_LIBRARY } from './history-sink.js'
import { TASK_TYPE } from './job.js'
import { PROGRESS_EVERY_STOCKS } from './progress.js'
import type { RedisClient } from './redis.js'

/**
 * One stock of a queued run, and the run's progress, in one call whatever the number of workers.
 * KEYS: 1-4 epoch, tasks, runs, seq (as PUBLISH_SCRIPT); 5 run state, 6 done-set, 7 cancel mark,
 * 8 failures; 9 stream of events:indicators, 10 stream of events:task:{id}, 11 stream of
 * events:tasks; then 12-13 the streams of the snapshot's two channels when there is one.
 * ARGV: 1 maxlen, 2 epoch candidate, 3 run history, 4 retention, 5 task id, 6 stock code,
 * 7 stock event JSON, 8 '1' when the stock failed, 9 the head of a progress event (its JSON up to
 * and with `"status":"running"` and `started_at`), 10 most failures kept, 11 the snapshot JSON or '',
 * 12 TTL of the run's keys, 13 the number F of failures, 14..13+F the failures (JSON), then the
 * channels of KEYS 9.. in order.
 * Returns {2} when the run is cancelled or already done (nothing published), {1} when the stock was published
 * before (a chunk retried after its worker died), {0, processed, total} when it published the
 * stock (and its snapshot), {3, processed, total} when it also published the throttled
 * `task.progress` that came due (every 1 % or 50 stocks of the run, and at the last stock).
 */
export const RUN_STOCK_SCRIPT = `${PUBLISH_LIBRARY}
if redis.call('EXISTS', KEYS[7]) == 1 then return {2} end
if redis.call('HGET', KEYS[5], 'state') == 'done' then return {2} end
if redis.call('SADD', KEYS[6], ARGV[6]) == 0 then return {1} end
local fixed = {KEYS[1], KEYS[2], KEYS[3], KEYS[4]}
local nfail = tonumber(ARGV[13])
local c = 13 + nfail
local total = tonumber(redis.call('HGET', KEYS[5], 'total') or '0')
local processed = redis.call('HINCRBY', KEYS[5], 'processed', 1)
local failed = tonumber(redis.call('HGET', KEYS[5], 'failed') or '0')
if ARGV[8] == '1' then failed = redis.call('HINCRBY', KEYS[5], 'failed', 1) end
for i = 14, 13 + nfail do
  if redis.call('LLEN', KEYS[8]) < tonumber(ARGV[10]) then
    redis.call('RPUSH', KEYS[8], ARGV[i])
  else
    redis.call('HINCRBY', KEYS[5], 'failures_omitted', 1)
  end
end
publish_event(fixed, {KEYS[9], KEYS[10]}, {ARGV[c + 1], ARGV[c + 2]}, ARGV[1], ARGV[2] .. 's', ARGV[7], 'stock.indicators.completed', '', ARGV[3], ARGV[4])
if ARGV[11] ~= '' then
  publish_event(fixed, {KEYS[12], KEYS[13]}, {ARGV[c + 4], ARGV[c + 5]}, ARGV[1], ARGV[2] .. 'm', ARGV[11], 'market.snapshot', '', ARGV[3], ARGV[4])
end
local last = tonumber(redis.call('HGET', KEYS[5], 'last') or '0')
if processed == total or (processed - last) * 100 >= total or processed % ${PROGRESS_EVERY_STOCKS} == 0 then
  redis.call('HSET', KEYS[5], 'last', processed)
  local progress = 0
  if total > 0 then progress = math.floor(processed * 10000 / total + 0.5) / 100 end
  local json = ARGV[9] .. ',"progress":' .. tostring(progress) .. ',"message":"Processing ' .. ARGV[6] .. ' (' .. processed .. '/' .. total .. ')","processed":' .. processed .. ',"total":' .. total .. ',"failed":' .. failed .. '}'
  publish_event(fixed, {KEYS[11], KEYS[10]}, {ARGV[c + 3], ARGV[c + 2]}, ARGV[1], ARGV[2] .. 'p', json, 'task.progress', ARGV[5], ARGV[3], ARGV[4])
  for i = 5, 8 do redis.call('EXPIRE', KEYS[i], ARGV[12]) end
  return {3, processed, total}
end
return {0, processed, total}
`

/**
 * The single `task.completed` of a queued run. KEYS: 1-4 as PUBLISH_SCRIPT, 5 run state, 6 the
 * active run, 7 stream of events:tasks, 8 stream of events:task:{id}, 9 done-set, 10 failures.
 * ARGV: 1 maxlen, 2 epoch candidate, 3 run history, 4 retention, 5 task id, 6 the event JSON,
 * 7 TTL of the run's keys, 8-9 the channels of KEYS 7-8. Returns 0 (and publishes nothing) when
 * the run was completed before, 1 when it published.
 */
export const RUN_COMPLETE_SCRIPT = `${PUBLISH_LIBRARY}
if redis.call('HGET', KEYS[5], 'state') == 'done' then return 0 end
redis.call('HSET', KEYS[5], 'state', 'done')
publish_event({KEYS[1], KEYS[2], KEYS[3], KEYS[4]}, {KEYS[7], KEYS[8]}, {ARGV[8], ARGV[9]}, ARGV[1], ARGV[2], ARGV[6], 'task.completed', ARGV[5], ARGV[3], ARGV[4])
if redis.call('GET', KEYS[6]) == ARGV[5] then redis.call('DEL', KEYS[6]) end
for i = 5, 10 do
  if i ~= 6 and i ~= 7 and i ~= 8 then redis.call('EXPIRE', KEYS[i], ARGV[7]) end
end
return 1
`

/**
 * A started run's move to `running`, only from `starting`. KEYS: the run's state. Returns 1 when
 * it moved; 0 when the run went on meanwhile (finished by another worker, a small run, or closed).
 */
export const RUN_RUNNING_SCRIPT = `
if redis.call('HGET', KEYS[1], 'state') ~= 'starting' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'running')
return 1
`

/**
 * What became of one stock sent by `stock`: `progress` when a progress event went out with it;
 * with the run's counts after it when it was published.
 */
export type StockVerdict =
  | {
      readonly outcome: 'published' | 'progress'
      readonly processed: number
      readonly total: number
    }
  | { readonly outcome: 'duplicate' | 'cancelled' }

export interface RunPublisherOptions {
  readonly history: HistoryKeys
  readonly runs: RunKeys
  readonly maxlen: number
  readonly runHistory: number
  readonly retentionSeconds: number
  /** Most failures a run keeps for its `task.completed`. */
  readonly maxFailures: number
}

/** The stock of a run, as the publish script takes it. */
export interface RunStock {
  readonly taskId: string
  readonly event: StockIndicatorsCompletedEvent
  readonly snapshot?: MarketSnapshotEvent
  /** The head of the progress event that may follow (built with the stock's timestamp). */
  readonly progressHead: string
  readonly failures: readonly Failure[]
}

/** Publishes the stocks and the last event of queued runs, pipelined. */
export interface RunPublisher {
  stock(stock: RunStock): Promise<StockVerdict>
  /** True when this call published the run's `task.completed`, false when it was done before. */
  complete(event: TaskCompletedEvent): Promise<boolean>
  close(): void
}

export function createRunPublisher(redis: RedisClient, options: RunPublisherOptions): RunPublisher {
  const { history, runs, maxlen, runHistory, retentionSeconds, maxFailures } = options
  const fixed = [history.epoch, history.tasks, history.runs, history.seq]
  const stockScript: LoadedScript = loadedScript(redis, RUN_STOCK_SCRIPT)
  const completeScript: LoadedScript = loadedScript(redis, RUN_COMPLETE_SCRIPT)
  const origin = epochOrigin()
  let calls = 0
  const limits = [String(maxlen), '', String(runHistory), String(retentionSeconds)]

  return {
    async stock({ taskId, event, snapshot, progressHead, failures }) {
      const task = taskChannel(taskId)
      const channels: string[] = [INDICATORS_ALL, task, TASKS_ALL]
      if (snapshot) channels.push(marketChannel(snapshot.stock_code), MARKET_ALL)
      limits[1] = `${origin}${(calls++).toString(36)}`
      const reply = await stockScript.call(
        [
          ...fixed,
          runs.state(taskId),
          runs.done(taskId),
          runs.cancel(taskId),
          runs.failures(taskId),
          ...channels.map(history.stream),
        ],
        [
          ...limits,
          taskId,
          event.stock_code,
          JSON.stringify(event),
          event.errors && event.errors.length > 0 ? '1' : '0',
          progressHead,
          String(maxFailures),
          snapshot ? JSON.stringify(snapshot) : '',
          String(RUN_TTL_SECONDS),
          String(failures.length),
          ...failures.map((failure) => JSON.stringify(failure)),
          ...channels,
        ],
      )
      const [code, processed = 0, total = 0] = reply as number[]
      if (code === 2) return { outcome: 'cancelled' }
      if (code === 1) return { outcome: 'duplicate' }
      return { outcome: code === 3 ? 'progress' : 'published', processed, total }
    },
    async complete(event) {
      const taskId = event.task_id
      const task = taskChannel(taskId)
      const reply = await completeScript.call(
        [
          ...fixed,
          runs.state(taskId),
          runs.active,
          history.stream(TASKS_ALL),
          history.stream(task),
          runs.done(taskId),
          runs.failures(taskId),
        ],
        [
          limits[0]!,
          `${origin}${(calls++).toString(36)}`,
          limits[2]!,
          limits[3]!,
          taskId,
          JSON.stringify(event),
          String(RUN_TTL_SECONDS),
          TASKS_ALL,
          task,
        ],
      )
      return reply === 1
    },
    close() {
      stockScript.close()
      completeScript.close()
    },
  }
}

/**
 * The fixed part of a run's progress event at `timestamp`, up to and with `"status":"running"`
 * and the run's `started_at` when known: the publish script appends the counts.
 */
export function progressHead(taskId: string, timestamp: string, startedAt?: string): string {
  const template = JSON.stringify(
    createTaskProgressEvent(
      {
        task_id: taskId,
        task_type: TASK_TYPE,
        status: 'running',
        ...(startedAt === undefined ? {} : { started_at: startedAt }),
        progress: 0,
        message: '',
        processed: 0,
        total: 0,
        failed: 0,
      },
      new Date(timestamp),
    ),
  )
  return template.slice(0, template.indexOf(',"progress":'))
}

/** When a run started (`started_ms` of its state, ISO-8601); undefined before it has. */
export async function runStartedAt(
  redis: RedisClient,
  keys: RunKeys,
  taskId: string,
): Promise<string | undefined> {
  const ms = Number(await redis.hGet(keys.state(taskId), 'started_ms'))
  return Number.isSafeInteger(ms) && ms > 0 ? new Date(ms).toISOString() : undefined
}
