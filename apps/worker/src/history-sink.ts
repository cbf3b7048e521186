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
 * One event, all its channels, atomically. KEYS: epoch, tasks, runs, seq, then the stream of each
 * channel. ARGV: maxlen, epoch candidate, event JSON, event type, task id, run history, retention
 * seconds, then the channels. The epoch is created when missing (Redis lost its data), and the
 * counter starts again with it. The event gets the counter's next value as `"seq":N`, stored so in
 * each channel's stream (trimmed and expiring by the retention), in the task state and the run
 * history; each channel publishes it with `"channel":"<name>","position":"<epoch>:<id>"`
 * appended as text, so what the gateway replays from a stream reads exactly as what was delivered
 * live.
 */
export const PUBLISH_SCRIPT = `
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[2]
  redis.call('SET', KEYS[1], epoch)
  redis.call('SET', KEYS[4], 0)
end
local seq = redis.call('INCR', KEYS[4])
local event = string.sub(ARGV[3], 1, -2) .. ',"seq":' .. seq .. '}'
local head = string.sub(event, 1, -2) .. ',"channel":"'
local now = redis.call('TIME')
local ms = (tonumber(now[1]) - tonumber(ARGV[7])) * 1000 + math.floor(tonumber(now[2]) / 1000)
local minid = string.format('%.0f', ms)
for i = 5, #KEYS do
  local id = redis.call('XADD', KEYS[i], 'MAXLEN', '~', ARGV[1], '*', 'e', event)
  -- Exact MINID: with ~, old entries sharing a stream node with new ones would stay.
  redis.call('XTRIM', KEYS[i], 'MINID', minid)
  redis.call('EXPIRE', KEYS[i], ARGV[7])
  redis.call('PUBLISH', ARGV[i + 3], head .. ARGV[i + 3] .. '","position":"' .. epoch .. ':' .. id .. '"}')
end
if ARGV[4] == 'task.progress' then
  redis.call('HSET', KEYS[2], ARGV[5], event)
elseif ARGV[4] == 'task.completed' then
  redis.call('HDEL', KEYS[2], ARGV[5])
  redis.call('LPUSH', KEYS[3], event)
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[6]) - 1)
end
`
const SHA = createHash('sha1').update(PUBLISH_SCRIPT).digest('hex')

/**
 * Publishes each event with one EVALSHA (EVAL when Redis answers NOSCRIPT), pipelined like any
 * command. The script is loaded again first thing on every (re)connection, so the calls after a
 * Redis restart keep their order instead of racing their EVAL fallbacks.
 */
export function createHistorySink(redis: RedisClient, options: HistorySinkOptions): HistorySink {
  const { keys, maxlen, runHistory, retentionSeconds } = options
  const fixed = [keys.epoch, keys.tasks, keys.runs, keys.seq]
  const limits = {
    maxlen: String(maxlen),
    runs: String(runHistory),
    retention: String(retentionSeconds),
  }
  // Every call carries its own candidate, so an epoch is never created twice with one value.
  const origin = randomBytes(8).readBigUInt64BE().toString(36).padStart(13, '0')
  let calls = 0
  const load = () => {
    redis.scriptLoad(PUBLISH_SCRIPT).catch(() => {})
  }
  redis.on('ready', load)
  if (redis.isReady) load()

  return {
    send(event, message, channels) {
      const taskId =
        event.event_type === 'task.progress' || event.event_type === 'task.completed'
          ? event.task_id
          : ''
      const call = {
        keys: [...fixed, ...channels.map(keys.stream)],
        arguments: [
          limits.maxlen,
          `${origin}${(calls++).toString(36)}`,
          message,
          event.event_type,
          taskId,
          limits.runs,
          limits.retention,
          ...channels,
        ],
      }
      return redis.evalSha(SHA, call).catch((error: unknown) => {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
        return redis.eval(PUBLISH_SCRIPT, call)
      })
    },
    close() {
      redis.off('ready', load)
    },
  }
}
