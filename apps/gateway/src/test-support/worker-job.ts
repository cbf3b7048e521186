import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { compareStreamIds, parsePosition } from '@stockpulse/events'
import { type NodeProcess, startNode } from '@stockpulse/testing'
import { expect } from 'vitest'
import type { Received } from './gateway.js'

/** The built `stockpulse-worker`. */
export const WORKER_MAIN = join(
  dirname(createRequire(import.meta.url).resolve('@stockpulse/worker/package.json')),
  'dist/main.js',
)

/**
 * Runs one job with the built worker CLI (`stockpulse-worker run`), publishing through its history
 * script under `keyPrefix`, `pace` stocks per second (unpaced without).
 */
export function runWorkerJob(options: {
  redisUrl: string
  keyPrefix: string
  taskId: string
  stocks: number
  pace?: number
  extra?: readonly string[]
}): NodeProcess {
  const { redisUrl, keyPrefix, taskId, stocks, pace, extra = [] } = options
  const args = [
    ...['run', '--redis', redisUrl, '--key-prefix', keyPrefix, '--task-id', taskId],
    ...[
      '--stocks',
      String(stocks),
      '--concurrency',
      '1',
      '--cache-ttl',
      '0',
      '--log-level',
      'error',
    ],
    ...(pace === undefined ? [] : ['--pace', String(pace)]),
    ...extra,
  ]
  return startNode(WORKER_MAIN, args, { env: { PATH: process.env.PATH } })
}

/** `since` for a resume: the position of the last event received on each channel. */
export function lastPositions(events: readonly Received[]): Record<string, string> {
  const since: Record<string, string> = {}
  for (const event of events) since[event.channel as string] = event.position as string
  return since
}

/**
 * Checks that `events` are one whole worker job of `stocks` stocks on `events:tasks` and
 * `events:indicators`, each event exactly once and in the order of publication: `seq` rising
 * across both channels, positions rising in each, every stock once, progress never going back,
 * the completion last.
 */
export function expectWholeJob(events: readonly Received[], stocks: number): void {
  const last = new Map<string, string>()
  const seqs = events.map((event) => event.seq as number)
  expect(
    seqs.findIndex((seq, i) => i > 0 && !(seq > seqs[i - 1]!)),
    'the first event out of seq order',
  ).toBe(-1)
  for (const event of events) {
    const channel = event.channel as string
    expect(channel).toBe(
      event.event_type === 'stock.indicators.completed' ? 'events:indicators' : 'events:tasks',
    )
    const position = parsePosition(event.position as string)
    expect(position, `position of ${JSON.stringify(event).slice(0, 120)}`).toBeDefined()
    const previous = last.get(channel)
    if (previous !== undefined && position) {
      expect(
        compareStreamIds(position.id, previous),
        `${channel} after ${previous}`,
      ).toBeGreaterThan(0)
    }
    if (position) last.set(channel, position.id)
  }
  const codes = events.filter((e) => e.event_type === 'stock.indicators.completed')
  expect(new Set(codes.map((e) => e.stock_code)).size).toBe(stocks)
  expect(codes).toHaveLength(stocks)
  const progress = events.filter((e) => e.event_type === 'task.progress').map((e) => e.processed)
  expect(progress).toEqual([...progress].sort((a, b) => (a as number) - (b as number)))
  expect(progress[0]).toBe(0)
  expect(progress.at(-1)).toBe(stocks)
  expect(events.at(-1)?.event_type).toBe('task.completed')
  expect(events).toHaveLength(stocks + progress.length + 1)
}
