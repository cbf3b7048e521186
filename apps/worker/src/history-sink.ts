import { createHash, randomBytes } from 'node:crypto'
import type { HistoryKeys } from '@stockpulse/events'
import type { EventSink } from './publisher.js'
import type { RedisClient } from './redis.js'

export interface HistorySinkOptions {
  /** `historyKeys(prefix)` of the contract: the gateway reads the same keys. */
  readonly keys: HistoryKeys
  /** Approximate cap of each channel's stream (`XADD MAXLEN ~`), at least 1. */
  readonly maxlen: number
  /** `task.completed` events kept in `keys.runs`. */
  readonly runHistory: number
  /** Seconds an entry stays in its stream, and a stream without new events stays in Redis. */
  readonly retentionSeconds: number
}

/** An EventSink that gives every message a position; `close` stops reloading the script. */
export interface HistorySink extends EventSink {
  close(): void
}

/**
 * The Lua library of every script that publishes events (this one and run-scripts.ts):
 * `publish_event(fixed, streams, channels, maxlen, candidate, event, event_type, task_id,
 * run_history, retention)` publishes one event on all its channels atomically. `fixed` holds the
 * keys epoch, tasks, runs, seq; `streams[i]` is the stream of `channels[i]`. The epoch is created
 * when missing (Redis lost its data), and the counter starts again with it. The event gets the
 * counter's next value as `"seq":N`, stored so in each channel's stream (trimmed and expiring by
 * the retention), in the task state and the run history; each channel publishes it with
 * `"channel":"<name>","position":"<epoch>:<id>"` appended as text, so what the gateway replays
 * from a stream reads exactly as what was delivered live.
 */
export const PUBLISH_LIBRARY = `
local function publish_event(fixed, streams, channels, maxlen, candidate, json, event_type, task_id, run_history, retention)
  local epoch = redis.call('GET', fixed[1])
  if not epoch then
    epoch = candidate
    redis.call('SET', fixed[1], epoch)
    redis.call('SET', fixed[4], 0)
  end
  local seq = redis.call('INCR', fixed[4])
  local event = string.sub(json, 1, -2) .. ',"seq":' .. seq .. '}'
  local head = string.sub(event, 1, -2) .. ',"channel":"'
  local now = redis.call('TIME')
  local ms = (tonumber(now[1]) - tonumber(retention)) * 1000 + math.floor(tonumber(now[2]) / 1000)
  local minid = string.format('%.0f', ms)
  for i = 1, #streams do
    local id = redis.call('XADD', streams[i], 'MAXLEN', '~', maxlen, '*', 'e', event)
    -- Exact MINID: with ~, old entries sharing a stream node with new ones would stay.
    redis.call('XTRIM', streams[i], 'MINID', minid)
    redis.call('EXPIRE', streams[i], retention)
    redis.call('PUBLISH', channels[i], head .. channels[i] .. '","position":"' .. epoch .. ':' .. id .. '"}')
  end
  if event_type == 'task.progress' then
    redis.call('HSET', fixed[2], task_id, event)
  elseif event_type == 'task.completed' then
    redis.call('HDEL', fixed[2], task_id)
    redis.call('LPUSH', fixed[3], event)
    redis.call('LTRIM', fixed[3], 0, tonumber(run_history) - 1)
  end
end
`

/**
 * Events in order, each on all its channels (one event's channels at once, as in
 * PUBLISH_LIBRARY). KEYS: epoch, tasks, runs, seq, then the stream of each channel of each
 * event. ARGV: maxlen, epoch candidate, run history, retention seconds, then for each event its
 * JSON, type, task id, number of channels and the channels.
 */
export const PUBLISH_SCRIPT = `${PUBLISH_LIBRARY}
local fixed = {KEYS[1], KEYS[2], KEYS[3], KEYS[4]}
local key, arg = 5, 5
while arg <= #ARGV do
  local count = tonumber(ARGV[arg + 3])
  local streams, channels = {}, {}
  for i = 1, count do
    streams[i] = KEYS[key]
    channels[i] = ARGV[arg + 3 + i]
    key = key + 1
  end
  publish_event(fixed, streams, channels, ARGV[1], ARGV[2], ARGV[arg], ARGV[arg + 1], ARGV[arg + 2], ARGV[3], ARGV[4])
  arg = arg + 4 + count
end
`
/** Most events in one script call. */
export const PUBLISH_BATCH = 100

/**
 * Publishes the events sent in one tick with one EVALSHA (EVAL when Redis answers NOSCRIPT) of
 * at most PUBLISH_BATCH events, in the order sent: a job hands over a chunk's events at once,
 * and one script call each would cost Redis and this thread more than the events themselves.
 * A paced job sends one stock a tick (its event and its snapshot), which go out at once. The
 * script is loaded again first thing on every (re)connection, so the calls after a Redis restart
 * keep their order instead of racing their EVAL fallbacks. A call that fails drops all its events
 * (a script error past its first event, which only Redis running out of memory or a key of the
 * wrong type causes, would have published those before it).
 */
export function createHistorySink(redis: RedisClient, options: HistorySinkOptions): HistorySink {
  const { keys, maxlen, runHistory, retentionSeconds } = options
  const fixed = [keys.epoch, keys.tasks, keys.runs, keys.seq]
  const limits = {
    maxlen: String(maxlen),
    runs: String(runHistory),
    retention: String(retentionSeconds),
  }
  const origin = epochOrigin()
  let calls = 0
  const script = loadedScript(redis, PUBLISH_SCRIPT)
  let batch: Batch | undefined

  const call = (full: Batch) => {
    if (batch === full) batch = undefined
    const args = [
      limits.maxlen,
      `${origin}${(calls++).toString(36)}`,
      limits.runs,
      limits.retention,
      ...full.args,
    ]
    // Settled whatever happens: every event of the batch waits on it (and the job's flush on them).
    try {
      full.settle(script.call([...fixed, ...full.streams], args))
    } catch (error) {
      full.settle(Promise.reject(error))
    }
  }

  return {
    send(event, message, channels) {
      if (!batch) {
        const opened = openBatch()
        batch = opened
        queueMicrotask(() => {
          if (batch === opened) call(opened)
        })
      }
      const current = batch
      const taskId =
        event.event_type === 'task.progress' || event.event_type === 'task.completed'
          ? event.task_id
          : ''
      current.args.push(message, event.event_type, taskId, String(channels.length), ...channels)
      for (const channel of channels) current.streams.push(keys.stream(channel))
      if (++current.events === PUBLISH_BATCH) call(current)
      return current.reply
    },
    close: () => script.close(),
  }
}

/** Events sent in one tick, to be published by one script call; `reply` settles with it. */
interface Batch {
  readonly args: string[]
  readonly streams: string[]
  events: number
  readonly reply: Promise<unknown>
  settle(call: Promise<unknown>): void
}

function openBatch(): Batch {
  let settle: (call: Promise<unknown>) => void = () => {}
  const reply = new Promise<unknown>((resolve) => {
    settle = resolve
  })
  return { args: [], streams: [], events: 0, reply, settle }
}

/** A script called by EVALSHA, loaded on every (re)connection; `close` stops reloading it. */
export interface LoadedScript {
  call(keys: string[], args: string[]): Promise<unknown>
  close(): void
}

/**
 * Calls `lua` with EVALSHA, falling back to EVAL when Redis answers NOSCRIPT. The script is loaded
 * first thing on every (re)connection, so calls after a Redis restart keep their order.
 */
export function loadedScript(redis: RedisClient, lua: string): LoadedScript {
  const sha = createHash('sha1').update(lua).digest('hex')
  const load = () => {
    redis.scriptLoad(lua).catch(() => {})
  }
  redis.on('ready', load)
  if (redis.isReady) load()
  return {
    call(keys, args) {
      const call = { keys, arguments: args }
      return redis.evalSha(sha, call).catch((error: unknown) => {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
        return redis.eval(lua, call)
      })
    },
    close() {
      redis.off('ready', load)
    },
  }
}

/**
 * A random prefix for epoch candidates: every call carries its own candidate, so an epoch is
 * never created twice with one value.
 */
export function epochOrigin(): string {
  return randomBytes(8).readBigUInt64BE().toString(36).padStart(13, '0')
}
