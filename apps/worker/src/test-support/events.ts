import { randomBytes } from 'node:crypto'
import { createTaskProgressEvent, parseEvent, type StockPulseEvent } from '@stockpulse/events'
import { until } from '@stockpulse/testing'
import { createClient } from 'redis'

/** The compiled compute-thread entry: tests run from source, threads need JavaScript. */
export const THREAD_URL = new URL('../../dist/compute-thread.js', import.meta.url)

/** A task id no other test or engineer uses. */
export function uniqueId(prefix: string): string {
  return `${prefix}_${Date.now()}_${randomBytes(3).toString('hex')}`
}

export interface Received {
  readonly channel: string
  /** The message as published. */
  readonly message: string
  readonly event: StockPulseEvent
}

/** Events seen by a separate node-redis subscriber, with the messages that failed validation. */
export interface EventRecorder {
  readonly received: Received[]
  readonly invalid: string[]
  /** The events of one task on one channel (shared channels carry other tests' events too). */
  of(taskId: string, channel?: string): Received[]
  /** Resolves once `done` holds; rejects after `timeoutMs` naming `what` never happened. */
  until(done: () => boolean, what: string, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

/** Subscribes a fresh connection to `channels` (and `patterns`) on the Redis at `url`. */
export async function recordEvents(
  url: string,
  channels: string[],
  patterns: string[] = [],
): Promise<EventRecorder> {
  const client = createClient({ url })
  client.on('error', () => {})
  await client.connect()
  const received: Received[] = []
  const invalid: string[] = []
  const listener = (message: string, channel: string) => {
    const parsed = parseEvent(message)
    if (parsed.ok) received.push({ channel, message, event: parsed.value })
    else invalid.push(message)
  }
  if (channels.length > 0) await client.subscribe(channels, listener)
  if (patterns.length > 0) await client.pSubscribe(patterns, listener)
  return {
    received,
    invalid,
    of: (taskId, channel) =>
      received.filter(
        (r) =>
          'task_id' in r.event && r.event.task_id === taskId && (!channel || r.channel === channel),
      ),
    until: (done, what, timeoutMs = 20_000) => until(done, what, timeoutMs),
    async close() {
      client.destroy()
    },
  }
}

/** A valid `task.progress` of a running task of 100 stocks. */
export function runningTask(
  taskId: string,
  processed: number,
  options: { readonly failed?: number; readonly at?: Date } = {},
) {
  return createTaskProgressEvent(
    {
      task_id: taskId,
      task_type: 'batch_daily',
      status: 'running',
      progress: processed,
      message: '',
      processed,
      total: 100,
      failed: options.failed ?? 0,
    },
    options.at,
  )
}
