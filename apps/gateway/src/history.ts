import {
  compareStreamIds,
  formatPosition,
  type HistoryKeys,
  marketChannel,
  type ParsedChannel,
  type ParsedPosition,
  parseEvent,
  SINCE_START,
} from '@stockpulse/events'
import { type createClient, ErrorReply, MultiErrorReply } from 'redis'
import { HistoryUnavailableError } from './errors.js'

// The gateway reads what the worker writes (`historyKeys(prefix)` of the contract): one stream per
// channel, the latest progress of each running task, and the last runs. It never writes there.

/** One stream entry: its id and the event JSON exactly as the worker stored it (no position). */
export interface StreamEntry {
  readonly id: string
  readonly json: string
}

/**
 * One channel of a subscribe, with the position the client resumes from, if it gave a valid one,
 * or `SINCE_START` for the channel's whole history.
 */
export interface HistoryRequest {
  readonly channel: ParsedChannel
  readonly since?: ParsedPosition | typeof SINCE_START | undefined
}

/** What a subscribe learns about one channel; all channels of a read come from one instant. */
export interface ChannelHistory {
  /** The current epoch; undefined until the worker's first event after Redis lost its data. */
  readonly epoch: string | undefined
  /** Id of the channel's newest entry; undefined while the channel has no stream. */
  readonly lastId: string | undefined
  /**
   * With `since`: every event after it (after none for `SINCE_START`) is still in the stream, and
   * they fit the replay limit.
   */
  readonly recoverable: boolean
  /** When recoverable: the events after `since`, oldest first. */
  readonly entries: readonly StreamEntry[]
  /**
   * Latest `task.progress` JSON of the running tasks the channel covers: all of them for
   * `events:tasks`, its own for `events:task:{id}`, none for other channels.
   */
  readonly tasks: readonly string[]
}

/** Reads of the history; every method rejects with HistoryUnavailableError when Redis cannot answer. */
export interface History {
  /**
   * One MULTI/EXEC for all `requests` (epoch, XINFO, task state), then a second one reading the
   * entries of the channels that can be resumed up to what the first saw, checking that nothing
   * after `since` was trimmed in between: atomic against the worker's writes, and no XRANGE for
   * a position that cannot be resumed.
   */
  read(requests: readonly HistoryRequest[]): Promise<ChannelHistory[]>
  /** Latest `task.progress` JSON of every running task. */
  activeTasks(): Promise<string[]>
  /** The last `limit` runs' `task.completed` JSON, newest first. */
  runs(limit: number): Promise<string[]>
  /**
   * The newest stored result of a stock: the running tasks (newest first), then the last runs,
   * are looked up in their results hashes; with the last `snapshots` entries (JSON, newest first)
   * of its `events:market:{code}` stream. undefined when no task still holds a result for it.
   */
  stock(code: string, snapshots: number): Promise<StoredStock | undefined>
}

/** A stock's stored result, as read: JSON texts, for the caller to validate. */
export interface StoredStock {
  readonly taskId: string
  readonly result: string
  readonly snapshots: readonly string[]
}

/** What resuming needs to know of a stream (XINFO STREAM). */
export interface StreamInfo {
  /** undefined when the stream is empty. */
  readonly firstId: string | undefined
  readonly lastId: string
  /** Highest id removed by XDEL ('0-0' for none). Redis 7.0 does not raise it on trims. */
  readonly maxDeletedId: string
  /** Entries in the stream now. */
  readonly length: number
  /** Entries ever added (Redis 7): more than `length` once any was trimmed or deleted. */
  readonly entriesAdded: number
}

export type RedisClient = ReturnType<typeof createClient>

/** HISTORY_REPLAY_LIMIT when nothing else is configured. */
export const DEFAULT_REPLAY_LIMIT = 50_000

export interface RedisHistoryOptions {
  readonly keys: HistoryKeys
  /** Most entries replayed per channel; more after `since` makes it unrecoverable. */
  readonly replayLimit: number
  /**
   * Resolves once the subscriber has handled every message published before the call. A read
   * waits for it, so live messages at or before what it read are all held (and filtered) by
   * then: the Pub/Sub socket can lag the reader's reply.
   */
  readonly caughtUp?: () => Promise<void>
}

/** The history in Redis, read through `client` (an ordinary connection, not the subscriber). */
export function createRedisHistory(client: RedisClient, options: RedisHistoryOptions): History {
  const { keys, replayLimit, caughtUp } = options
  return {
    async read(requests) {
      // First what the streams hold (no entries), then the entries of the resumable channels
      // only: a position that cannot be resumed costs an XINFO, never an XRANGE.
      const multi = client.multi()
      // Where each reply will be: commands are numbered in the order they are queued.
      let queued = 0
      const add = (queue: () => unknown): number => {
        queue()
        return queued++
      }
      add(() => multi.get(keys.epoch))
      const plans = requests.map(({ channel }) => {
        const info = add(() => multi.xInfoStream(keys.stream(channel.name)))
        let tasks = -1
        if (channel.kind === 'tasks') tasks = add(() => multi.hVals(keys.tasks))
        else if (channel.kind === 'task' && channel.id !== undefined) {
          const id = channel.id
          tasks = add(() => multi.hGet(keys.tasks, id))
        }
        return { info, tasks }
      })
      const replies = await exec(multi, 'read')
      const epoch = (replies[0] as string | null) ?? undefined
      const seen = requests.map(({ since }, i) => {
        const stream = streamInfo(replies[plans[i]!.info])
        const plausible =
          since === SINCE_START
            ? canReplayWhole(epoch, stream, stream?.length ?? 0, replayLimit)
            : since !== undefined &&
              rangeable(since.id) &&
              canResume(since, epoch, stream, 0, replayLimit)
        return { stream, plausible }
      })
      const [ranges] = await Promise.all([readRanges(requests, seen, epoch), caughtUp?.()])
      return requests.map((_, i): ChannelHistory => {
        const range = ranges[i]
        return {
          epoch,
          lastId: seen[i]!.stream?.lastId,
          recoverable: range !== undefined,
          entries: range ?? [],
          tasks: plans[i]!.tasks < 0 ? [] : taskList(replies[plans[i]!.tasks]),
        }
      })
    },
    activeTasks() {
      return attempt('activeTasks', () => client.hVals(keys.tasks))
    },
    runs(limit) {
      return attempt('runs', () => client.lRange(keys.runs, 0, limit - 1))
    },
    stock(code, snapshots) {
      return attempt('stock', async () => {
        const [running, runs, entries] = (await client
          .multi()
          .hVals(keys.tasks)
          .lRange(keys.runs, 0, -1)
          .xRevRange(keys.stream(marketChannel(code)), '+', '-', { COUNT: snapshots })
          .exec()) as unknown as [string[], string[], RangeReply]
        const taskIds = [...new Set([...newestFirst(running), ...runs.flatMap(taskIdOf)])]
        if (taskIds.length === 0) return undefined
        const multi = client.multi()
        for (const taskId of taskIds) multi.hGet(keys.results(taskId), code)
        const results = (await multi.exec()) as unknown as Array<string | null>
        const found = results.findIndex((result) => result !== null)
        if (found < 0) return undefined
        return {
          taskId: taskIds[found]!,
          result: results[found]!,
          snapshots: entries.map(({ message }) => message.e ?? ''),
        }
      })
    },
  }

  /**
   * The entries after `since` up to the first read's last id, for each plausible request; the
   * same MULTI checks that the epoch is the same and nothing after `since` was trimmed since the
   * first read. undefined where the channel cannot be resumed.
   */
  async function readRanges(
    requests: readonly HistoryRequest[],
    seen: ReadonlyArray<{ stream: StreamInfo | undefined; plausible: boolean }>,
    epoch: string | undefined,
  ): Promise<Array<StreamEntry[] | undefined>> {
    const wanted = requests.flatMap(({ channel, since }, i) => {
      const { stream, plausible } = seen[i]!
      if (!plausible || !since || !stream) return []
      const empty =
        since === SINCE_START
          ? stream.length === 0
          : compareStreamIds(since.id, stream.lastId) === 0
      return empty ? [] : [{ i, key: keys.stream(channel.name), since, lastId: stream.lastId }]
    })
    const ranges: Array<StreamEntry[] | undefined> = requests.map((_, i) =>
      seen[i]!.plausible ? [] : undefined,
    )
    if (wanted.length === 0) return ranges
    const multi = client.multi().get(keys.epoch)
    for (const { key, since, lastId } of wanted) {
      const start = since === SINCE_START ? '-' : `(${since.id}`
      multi.xInfoStream(key).xRange(key, start, lastId, { COUNT: replayLimit + 1 })
    }
    const replies = await exec(multi, 'read')
    const now = (replies[0] as string | null) ?? undefined
    for (const [n, { i, since }] of wanted.entries()) {
      const stream = streamInfo(replies[1 + 2 * n])
      const range = replies[2 + 2 * n] as RangeReply
      const resumable =
        since === SINCE_START
          ? canReplayWhole(now, stream, range.length, replayLimit)
          : canResume(since, now, stream, range.length, replayLimit)
      ranges[i] =
        now === epoch && resumable
          ? range.map(({ id, message }) => ({ id, json: message.e ?? '' }))
          : undefined
    }
    return ranges
  }
}

/**
 * Whether a client at `since` can be brought up to date from the stream alone: same epoch, a
 * position the stream has reached, nothing after it removed, and at most `limit` entries after it.
 * Trims remove the oldest entries, so `since` must not be older than the first one left; a
 * position just before it is refused too, since nothing tells whether entries were between.
 */
export function canResume(
  since: ParsedPosition,
  epoch: string | undefined,
  stream: StreamInfo | undefined,
  after: number,
  limit: number,
): boolean {
  if (!stream || epoch === undefined || since.epoch !== epoch) return false
  if (compareStreamIds(since.id, stream.lastId) > 0) return false
  if (compareStreamIds(since.id, stream.maxDeletedId) < 0) return false
  const oldest = stream.firstId
  if (oldest === undefined && compareStreamIds(since.id, stream.lastId) !== 0) return false
  if (oldest !== undefined && compareStreamIds(since.id, oldest) < 0) return false
  return after <= limit
}

/**
 * Whether a channel's whole history can be replayed (`since: "start"`): an epoch, a stream from
 * which no entry was ever trimmed or deleted, and at most `limit` entries to replay.
 */
export function canReplayWhole(
  epoch: string | undefined,
  stream: StreamInfo | undefined,
  entries: number,
  limit: number,
): boolean {
  if (!stream || epoch === undefined || stream.entriesAdded !== stream.length) return false
  return entries <= limit
}

/** A task state entry as a snapshot copy on `channel`: `,"channel":"<channel>"` spliced in, no position. */
export function asSnapshot(json: string, channel: string): string {
  return `${json.slice(0, -1)},"channel":"${channel}"}`
}

/**
 * A stream entry as it was delivered live on `channel`: `,"channel":"<channel>","position":
 * "<epoch>:<id>"` spliced before its final `}`, as the worker's script does when it publishes.
 */
export function asDelivered(json: string, channel: string, epoch: string, id: string): string {
  return `${json.slice(0, -1)},"channel":"${channel}","position":"${formatPosition(epoch, id)}"}`
}

// ---- Helpers ----

type Multi = ReturnType<RedisClient['multi']>
type RangeReply = Array<{ id: string; message: Record<string, string> }>
interface InfoReply {
  readonly 'last-generated-id': string
  readonly 'max-deleted-entry-id'?: string
  readonly 'first-entry': { id: string } | null
  readonly length: number
  readonly 'entries-added': number
}

const MAX_U64 = 2n ** 64n - 1n

/** An id Redis accepts as an exclusive XRANGE start: both parts 64-bit, not the largest id. */
function rangeable(id: string): boolean {
  const [ms = '', seq = ''] = id.split('-')
  const a = BigInt(ms)
  const b = BigInt(seq)
  return a <= MAX_U64 && b <= MAX_U64 && !(a === MAX_U64 && b === MAX_U64)
}

/** EXEC; a missing stream's XINFO error stands for "no stream", any other error fails the read. */
async function exec(multi: Multi, operation: string): Promise<unknown[]> {
  try {
    return (await multi.exec()) as unknown[]
  } catch (error) {
    if (
      error instanceof MultiErrorReply &&
      error.errorIndexes.every((i) => isNoSuchKey(error.replies[i]))
    ) {
      return error.replies as unknown[]
    }
    throw new HistoryUnavailableError(operation, error)
  }
}

async function attempt<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    throw new HistoryUnavailableError(operation, error)
  }
}

function isNoSuchKey(reply: unknown): boolean {
  return reply instanceof ErrorReply && reply.message.startsWith('ERR no such key')
}

function streamInfo(reply: unknown): StreamInfo | undefined {
  if (reply instanceof ErrorReply) return undefined
  const info = reply as InfoReply
  return {
    firstId: info['first-entry']?.id,
    lastId: info['last-generated-id'],
    maxDeletedId: info['max-deleted-entry-id'] ?? '0-0',
    length: Number(info.length),
    entriesAdded: Number(info['entries-added'] ?? Number.NaN),
  }
}

/** The task ids of `task.progress` JSON texts, newest first; invalid ones left out. */
function newestFirst(progress: readonly string[]): string[] {
  return progress
    .flatMap((text) => {
      const parsed = parseEvent(text)
      return parsed.ok && parsed.value.event_type === 'task.progress' ? [parsed.value] : []
    })
    .sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp))
    .map((event) => event.task_id)
}

/** The task id of a stored run, or none when it breaks the contract. */
function taskIdOf(text: string): string[] {
  const parsed = parseEvent(text)
  return parsed.ok && parsed.value.event_type === 'task.completed' ? [parsed.value.task_id] : []
}

function taskList(reply: unknown): string[] {
  if (Array.isArray(reply)) return reply as string[]
  return typeof reply === 'string' ? [reply] : []
}
