import {
  createMarketSnapshotEvent,
  createStockIndicatorsCompletedEvent,
  createSystemHeartbeatEvent,
  createTaskCompletedEvent,
  createTaskProgressEvent,
  createUserNotificationEvent,
  INDICATORS_ALL,
  type StockPulseEvent,
  SYSTEM,
  TASKS_ALL,
  taskChannel,
} from '@stockpulse/events'
import { describe, expect, it } from 'vitest'
import { channelsCarrying, createPositionTracker } from './positions'

const T1 = taskChannel('t1')
const progress = (processed: number, position?: string) => ({
  ...createTaskProgressEvent(
    {
      task_id: 't1',
      task_type: 'batch_daily',
      status: 'running',
      progress: processed,
      message: `Processing (${processed}/100)`,
      processed,
      total: 100,
      failed: 0,
    },
    new Date(Date.UTC(2026, 0, 10, 9, 0, processed)),
  ),
  ...(position === undefined ? {} : { position }),
})
const stock = (code: string, position?: string) => ({
  ...createStockIndicatorsCompletedEvent({
    task_id: 't1',
    stock_code: code,
    indicators: ['SMA_5'],
    success_count: 1,
    failed_count: 0,
    calculation_time_ms: 1,
    from_cache_count: 0,
  }),
  ...(position === undefined ? {} : { position }),
})

/** Admits each event with `joined`, returning which were delivered. */
function admitted(events: StockPulseEvent[], joined: string[]) {
  const tracker = createPositionTracker()
  const set = new Set(joined)
  return { tracker, delivered: events.map((event) => tracker.admit(event, set)) }
}

describe('channelsCarrying', () => {
  it.each([
    [progress(1), [TASKS_ALL, T1]],
    [
      createTaskCompletedEvent({
        task_id: 't1',
        task_type: 'batch_daily',
        status: 'completed',
        duration_seconds: 1,
        result: { success: 1, failed: 0 },
      }),
      [TASKS_ALL, T1],
    ],
    [stock('000001'), [INDICATORS_ALL, T1]],
    [{ ...stock('000001'), task_id: undefined }, [INDICATORS_ALL]],
    [
      createMarketSnapshotEvent({
        stock_code: '000001',
        trade_date: '2026-01-10',
        bar: { open: 1, high: 1, low: 1, close: 1, volume: 1 },
        indicators: {},
      }),
      ['events:market', 'events:market:000001'],
    ],
    [
      createSystemHeartbeatEvent({
        service: 'worker',
        instance_id: 'w1',
        uptime_seconds: 1,
        status: 'ok',
      }),
      [SYSTEM],
    ],
    [
      createUserNotificationEvent({ user_id: 'u1', level: 'info', title: 'hi', message: 'hello' }),
      ['events:user:u1'],
    ],
  ])('%o travels on %j', (event, channels) => {
    expect(channelsCarrying(event as StockPulseEvent)).toEqual(channels)
  })
})

describe('createPositionTracker', () => {
  it.each([
    ['in order', ['e:5-0', 'e:6-0', 'e:6-1'], [true, true, true]],
    ['a repeat of the last', ['e:5-0', 'e:5-0'], [true, false]],
    ['an older one after a newer one', ['e:5-0', 'e:7-0', 'e:6-9'], [true, true, false]],
    ['numerically, not as text', ['e:9-0', 'e:10-0', 'e:9-5'], [true, true, false]],
    ['another epoch, whatever its id', ['e:5-0', 'f:1-0', 'f:1-0'], [true, true, false]],
  ])('on one channel, delivers events %s: %j -> %j', (_, positions, expected) => {
    const events = positions.map((position, i) => stock(`00000${i}`, position))
    expect(admitted(events, [T1]).delivered).toEqual(expected)
  })

  it('delivers events without a position, and those of no joined channel, untracked', () => {
    const { tracker, delivered } = admitted(
      [stock('000001'), stock('000002'), stock('000003', 'e:1-0'), stock('000003', 'e:1-0')],
      [T1],
    )
    expect(delivered).toEqual([true, true, true, false])
    expect(tracker.admit(stock('000004', 'e:0-1'), new Set([SYSTEM]))).toBe(true)
    expect(tracker.since([T1, SYSTEM])).toEqual({ [T1]: 'e:1-0' })
  })

  // The copies of one event: one seq, each naming its channel and its position there.
  const copies = (seq: number, positions: Record<string, string>) =>
    Object.entries(positions).map(([channel, position]) => ({
      ...progress(seq),
      seq,
      channel,
      position,
    }))

  it('delivers the first copy of an event two joined channels carry, crediting each its own position', () => {
    const { tracker, delivered } = admitted(
      [
        ...copies(1, { [TASKS_ALL]: 'e:10-3', [T1]: 'e:10-1' }),
        ...copies(2, { [TASKS_ALL]: 'e:11-0', [T1]: 'e:12-0' }),
      ],
      [TASKS_ALL, T1],
    )
    expect(delivered).toEqual([true, false, true, false])
    expect(tracker.since([TASKS_ALL, T1])).toEqual({ [TASKS_ALL]: 'e:11-0', [T1]: 'e:12-0' })
  })

  it('drops a copy that comes after a reconnect, on the channel that had missed it', () => {
    const joined = new Set<string>([TASKS_ALL, T1])
    const tracker = createPositionTracker()
    const [onTasks, onTask] = copies(7, { [TASKS_ALL]: 'e:20-0', [T1]: 'e:21-0' })
    expect(tracker.admit(onTasks!, joined)).toBe(true)
    // The socket died between the two copies; the resume of T1 replays the second one.
    expect(tracker.since([T1])).toBeUndefined()
    expect(tracker.admit(onTask!, joined)).toBe(false)
    expect(tracker.since([T1])).toEqual({ [T1]: 'e:21-0' })
  })

  it('delivers again what a channel replayed from its first event brings, though delivered before', () => {
    const joined = new Set<string>([TASKS_ALL, T1])
    const tracker = createPositionTracker()
    const [onTasks, onTask] = copies(8, { [TASKS_ALL]: 'e:30-0', [T1]: 'e:30-1' })
    expect(tracker.admit(onTasks!, joined)).toBe(true)
    // The task's page opens (again): its channel is replayed from the start.
    expect(tracker.admit(onTask!, joined, new Set([T1]))).toBe(true)
    expect(tracker.admit(onTask!, joined, new Set([T1]))).toBe(false)
  })

  it('remembers the seq of a bounded number of events, and forgets them in a new epoch', () => {
    const joined = new Set<string>([TASKS_ALL])
    const tracker = createPositionTracker({ memory: 2 })
    for (const seq of [1, 2, 3]) {
      expect(tracker.admit({ ...progress(seq), seq, channel: TASKS_ALL }, joined)).toBe(true)
    }
    expect(tracker.admit({ ...progress(3), seq: 3 }, joined)).toBe(false)
    expect(tracker.admit({ ...progress(1), seq: 1 }, joined)).toBe(true)
    tracker.admit({ ...progress(9), seq: 9, position: 'e:1-0' }, joined)
    expect(tracker.admit({ ...progress(9), seq: 3, position: 'f:1-0' }, joined)).toBe(true)
  })

  it('forgets the seq delivered when a new connection resumes nothing (a restarted demo)', () => {
    const joined = new Set<string>([TASKS_ALL])
    const tracker = createPositionTracker()
    expect(tracker.admit({ ...progress(1), seq: 1, channel: TASKS_ALL }, joined)).toBe(true)
    tracker.restart()
    expect(tracker.admit({ ...progress(1), seq: 1, channel: TASKS_ALL }, joined)).toBe(true)
  })

  it('delivers every copy of an event of an older producer (no seq), crediting no channel it cannot tell', () => {
    const { tracker, delivered } = admitted(
      [progress(1, 'e:10-3'), progress(1, 'e:10-1')],
      [TASKS_ALL, T1],
    )
    expect(delivered).toEqual([true, true])
    expect(tracker.since([TASKS_ALL, T1])).toBeUndefined()
  })

  it.each([
    ['a plain subscribe', undefined, 'e:20-0'],
    ['a resume answered with a snapshot', false, 'e:20-0'],
    ['a resume whose replay is still coming', true, 'e:10-0'],
  ])('resumes from the ack position after %s', (_, recovered, expected) => {
    const tracker = createPositionTracker()
    tracker.admit(stock('000001', 'e:10-0'), new Set([T1]))
    tracker.acknowledge({ channel: T1, ok: true, position: 'e:20-0', recovered })
    expect(tracker.since([T1])).toEqual({ [T1]: expected })
    // the ack does not fence: a replayed event before it is still new
    expect(tracker.admit(stock('000002', 'e:15-0'), new Set([T1]))).toBe(true)
  })

  it('keeps a newer event position over an older ack, and takes an ack of a new epoch', () => {
    const tracker = createPositionTracker()
    tracker.admit(stock('000001', 'e:30-0'), new Set([T1]))
    tracker.acknowledge({ channel: T1, ok: true, position: 'e:20-0' })
    expect(tracker.since([T1])).toEqual({ [T1]: 'e:30-0' })
    tracker.acknowledge({ channel: T1, ok: true, position: 'f:1-0', recovered: false })
    expect(tracker.since([T1])).toEqual({ [T1]: 'f:1-0' })
    tracker.acknowledge({ channel: T1, ok: false, code: 'internal', message: 'x' })
    expect(tracker.since([T1])).toEqual({ [T1]: 'f:1-0' })
  })

  it('forgets a channel that is left', () => {
    const { tracker } = admitted([stock('000001', 'e:1-0')], [T1])
    tracker.forget(T1)
    expect(tracker.since([T1])).toBeUndefined()
    expect(tracker.admit(stock('000001', 'e:1-0'), new Set([T1]))).toBe(true)
  })
})
