/**
 * Admission of a run. KEYS: active, the new run's state. ARGV: task id, request JSON, now (ms),
 * TTL seconds, state key prefix. Refuses while the active run's state is there and not `done`
 * (no overlap); an active run whose state expired (its workers and queue vanished for a day) is
 * swept aside. Returns `{ 'ok' | 'busy' | 'exists', id }`.
 */
export const ADMIT_SCRIPT = `
local active = redis.call('GET', KEYS[1])
if active then
  local state = redis.call('HGET', ARGV[5] .. active, 'state')
  if state and state ~= 'done' then return {'busy', active} end
end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'exists', ARGV[1]} end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'state', 'queued', 'request', ARGV[2], 'admitted_ms', ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return {'ok', ARGV[1]}
`

/**
 * Undoes an admission whose start job could not be queued. KEYS: active, state. ARGV: task id.
 */
export const UNADMIT_SCRIPT = `
if redis.call('HGET', KEYS[2], 'state') == 'queued' then redis.call('DEL', KEYS[2]) end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`

/**
 * Cancellation mark. KEYS: state, cancel. ARGV: reason, TTL seconds. Returns `ok`, `unknown`,
 * or the state that forbids it (`finishing`, `done`).
 */
export const CANCEL_SCRIPT = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'unknown' end
if state == 'finishing' or state == 'done' then return state end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
return 'ok'
`
