import {
  CloseCode,
  createStockIndicatorsCompletedEvent,
  createTaskProgressEvent,
  type NoticeFrame,
  type StockPulseEvent,
  SYSTEM,
  TASKS_ALL,
  taskChannel,
} from '@stockpulse/events'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type EffectScope, effectScope } from 'vue'
import {
  eventually,
  type ServerConnection,
  startTestServer,
  type TestServer,
} from '../test-support/ws-server'
import {
  backoffDelay,
  type UseEventStreamOptions,
  type UseEventStreamReturn,
  useEventStream,
} from './useEventStream'

const progress = createTaskProgressEvent({
  task_id: 't1',
  task_type: 'batch_daily',
  status: 'running',
  progress: 10,
  message: 'Processing',
  processed: 10,
  total: 100,
  failed: 0,
})
const stock = createStockIndicatorsCompletedEvent({
  task_id: 't1',
  stock_code: '000001',
  indicators: ['SMA_5'],
  success_count: 1,
  failed_count: 0,
  calculation_time_ms: 2.5,
  from_cache_count: 0,
})
const connected = {
  type: 'connected',
  connection_id: 'c1',
  heartbeat_timeout_s: 60,
  batch: true,
}

describe('backoffDelay', () => {
  it.each([
    [0, 0, 0],
    [0, 0.999, 499],
    [1, 0.999, 999],
    [3, 0.5, 2000],
    [10, 0.999, 29_970],
    [30, 0.999, 29_970],
  ])('attempt %i with random %f waits %i ms', (attempt, random, expected) => {
    expect(backoffDelay(attempt, 500, 30_000, () => random)).toBe(expected)
  })
})

describe('useEventStream', () => {
  let server: TestServer
  let stream: UseEventStreamReturn
  let scope: EffectScope
  const events: StockPulseEvent[] = []

  beforeEach(async () => {
    server = await startTestServer()
    scope = effectScope()
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
  })

  afterEach(async () => {
    scope.stop()
    vi.useRealTimers()
    vi.restoreAllMocks()
    events.length = 0
    await server.close()
  })

  function start(options: UseEventStreamOptions = {}) {
    stream = scope.run(() => {
      const s = useEventStream({ url: server.url, ...options })
      s.on('task.progress', (event) => events.push(event))
      s.on('stock.indicators.completed', (event) => events.push(event))
      return s
    })!
    return stream
  }

  async function opened(n: number) {
    const connection = await server.connection(n)
    await eventually(() => expect(stream.state.value).toBe('open'))
    return connection
  }

  /** Closes `connection` as a restarting gateway does; returns the n-th, after the backoff. */
  async function restart(connection: ServerConnection, n: number) {
    connection.socket.close(CloseCode.SHUTDOWN)
    await eventually(() => expect(stream.state.value).toBe('reconnecting'))
    await vi.advanceTimersByTimeAsync(500)
    return opened(n)
  }

  it('connects with its channels in the query and reports open', async () => {
    start({ channels: [TASKS_ALL, SYSTEM] })
    expect(stream.state.value).toBe('connecting')
    const connection = await opened(1)
    expect(connection.url.pathname).toBe('/ws/events')
    expect(connection.url.searchParams.get('channels')).toBe('events:tasks,events:system')
    expect(connection.url.searchParams.get('batch')).toBe('1')
  })

  it('sends its token as a bearer subprotocol, read again on every connect, never in the URL', async () => {
    let jwt = 'header.payload.sig1'
    start({ token: () => jwt })
    const first = await opened(1)
    expect(first.protocols).toEqual(['stockpulse', 'bearer.header.payload.sig1'])
    expect(first.socket.protocol).toBe('stockpulse')
    expect(first.url.search).not.toContain('sig1')
    jwt = 'header.payload.sig2'
    const second = await restart(first, 2)
    expect(second.protocols).toEqual(['stockpulse', 'bearer.header.payload.sig2'])
  })

  it('offers no subprotocol without a token', async () => {
    start()
    expect((await opened(1)).protocols).toEqual([])
  })

  it('delivers valid events and unwraps batches', async () => {
    start()
    const connection = await opened(1)
    connection.send(connected)
    connection.send(progress)
    connection.send({ type: 'batch', events: [stock, { ...progress, processed: 20 }] })
    await eventually(() => expect(events).toHaveLength(3))
    expect(events).toEqual([progress, stock, { ...progress, processed: 20 }])
    expect(stream.connection.value?.connection_id).toBe('c1')
  })

  it('drops frames that break the contract, with a warning, and keeps going', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    start()
    const connection = await opened(1)
    connection.send('not json')
    connection.send({ ...progress, progress: 140 })
    connection.send({ event_type: 'task.exploded', timestamp: progress.timestamp })
    connection.send({ type: 'batch', events: [stock, { ...stock, stock_code: 'bad code' }] })
    connection.send(progress)
    await eventually(() => expect(events).toEqual([progress]))
    expect(stream.dropped.value).toBe(4)
    expect(warn.mock.calls.map(([, reason]) => reason)).toEqual([
      'not valid JSON',
      'task.progress /progress: Expected number to be less or equal to 100',
      'unknown event_type "task.exploded"',
      expect.stringContaining('batch /events/1'),
    ])
  })

  it('sends a heartbeat every 20 s, sooner when the gateway times out sooner', async () => {
    start()
    const connection = await opened(1)
    await vi.advanceTimersByTimeAsync(19_999)
    expect(connection.received).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    await eventually(() => expect(connection.received).toEqual([{ type: 'heartbeat' }]))

    connection.send({ ...connected, heartbeat_timeout_s: 3 })
    await eventually(() => expect(stream.connection.value).toBeDefined())
    await vi.advanceTimersByTimeAsync(3_000)
    await eventually(() => expect(connection.received).toHaveLength(4))
  })

  it('subscribes and unsubscribes by frame once open, counting holders', async () => {
    start({ channels: [TASKS_ALL] })
    const connection = await opened(1)
    const channel = taskChannel('t1')
    const first = stream.subscribe([channel])
    const second = stream.subscribe([channel, TASKS_ALL])
    first()
    first()
    await eventually(() =>
      expect(connection.received).toEqual([{ type: 'subscribe', channels: [channel] }]),
    )
    second()
    await eventually(() =>
      expect(connection.received).toEqual([
        { type: 'subscribe', channels: [channel] },
        { type: 'unsubscribe', channels: [channel] },
      ]),
    )
  })

  it('reconnects with full-jitter backoff and rejoins every channel', async () => {
    let random = 0.999
    start({ channels: [TASKS_ALL], random: () => random })
    const first = await opened(1)
    stream.subscribe([taskChannel('t1')])
    first.socket.close(CloseCode.SHUTDOWN, 'restart')
    await eventually(() => expect(stream.state.value).toBe('reconnecting'))
    expect(stream.lastCloseCode.value).toBe(CloseCode.SHUTDOWN)
    expect(stream.attempt.value).toBe(1)

    await vi.advanceTimersByTimeAsync(498)
    expect(server.connections).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    const second = await opened(2)
    expect(second.url.searchParams.get('channels')).toBe('')
    await eventually(() =>
      expect(second.received).toEqual([
        { type: 'subscribe', channels: ['events:tasks', 'events:task:t1'] },
      ]),
    )

    random = 0.5
    second.socket.close(CloseCode.HEARTBEAT_TIMEOUT)
    await eventually(() => expect(stream.attempt.value).toBe(2))
    await vi.advanceTimersByTimeAsync(499)
    expect(server.connections).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(1)
    const third = await opened(3)
    third.send(connected)
    await eventually(() => expect(stream.attempt.value).toBe(0))
  })

  it('resumes every channel from the last position it saw, by one subscribe frame', async () => {
    start({ channels: [TASKS_ALL, SYSTEM] })
    const first = await opened(1)
    first.send({
      type: 'subscribed',
      results: [
        { channel: TASKS_ALL, ok: true, position: 'e1:100-0' },
        { channel: SYSTEM, ok: true },
      ],
    })
    const t1 = taskChannel('t1')
    stream.subscribe([t1])
    await eventually(() => expect(first.received).toHaveLength(1))
    first.send({ type: 'subscribed', results: [{ channel: t1, ok: true, position: 'e1:90-0' }] })
    first.send({
      type: 'batch',
      events: [
        { ...stock, position: 'e1:95-0' },
        { ...stock, stock_code: '000002', position: 'e1:110-2' },
      ],
    })
    await eventually(() => expect(events).toHaveLength(2))

    const second = await restart(first, 2)
    expect(second.url.searchParams.get('channels')).toBe('')
    await eventually(() =>
      expect(second.received).toEqual([
        {
          type: 'subscribe',
          channels: [TASKS_ALL, SYSTEM, t1],
          since: { [TASKS_ALL]: 'e1:100-0', [t1]: 'e1:110-2' },
        },
      ]),
    )
  })

  it('drops what a resume replays again, and the second copy of an event two channels carry', async () => {
    const t1 = taskChannel('t1')
    // Copies as the gateway sends them (contract 1.2): one seq, each its channel and position.
    const on = <E extends object>(event: E, seq: number, channel: string, position: string) => ({
      ...event,
      seq,
      channel,
      position,
    })
    start({ channels: [TASKS_ALL, t1] })
    const first = await opened(1)
    first.send(on(stock, 1, t1, 'e1:10-0'))
    first.send(on(progress, 2, TASKS_ALL, 'e1:11-0'))
    first.send(on(progress, 2, t1, 'e1:11-1'))
    await eventually(() => expect(stream.repeats.value).toBe(1))
    expect(events).toEqual([on(stock, 1, t1, 'e1:10-0'), on(progress, 2, TASKS_ALL, 'e1:11-0')])

    const second = await restart(first, 2)
    await eventually(() =>
      expect(second.received).toEqual([
        {
          type: 'subscribe',
          channels: [TASKS_ALL, t1],
          since: { [TASKS_ALL]: 'e1:11-0', [t1]: 'e1:11-1' },
        },
      ]),
    )
    const next = { ...stock, stock_code: '000002' }
    second.send({
      type: 'subscribed',
      results: [
        { channel: TASKS_ALL, ok: true, recovered: true, position: 'e1:12-0' },
        { channel: t1, ok: true, recovered: true, position: 'e1:12-0' },
      ],
    })
    second.send({
      type: 'batch',
      events: [
        on(progress, 2, t1, 'e1:11-1'),
        on(stock, 1, t1, 'e1:10-0'),
        on(next, 3, t1, 'e1:11-5'),
        on(next, 3, t1, 'e1:11-5'),
      ],
    })
    await eventually(() => expect(stream.repeats.value).toBe(4))
    expect(events.at(-1)).toEqual(on(next, 3, t1, 'e1:11-5'))
    expect(events).toHaveLength(3)
    expect(stream.recovery.value).toEqual([
      { channel: TASKS_ALL, recovered: true },
      { channel: t1, recovered: true },
    ])
  })

  it('joins a channel from its first event by frame, reports the replay, then resumes from positions', async () => {
    const t1 = taskChannel('t1')
    const t2 = taskChannel('t2')
    start({ channels: [TASKS_ALL], immediate: false })
    stream.subscribe([t1], { fromStart: true })
    stream.open()
    const first = await opened(1)
    expect(first.url.searchParams.get('channels')).toBe(TASKS_ALL)
    await eventually(() =>
      expect(first.received).toEqual([
        { type: 'subscribe', channels: [t1], since: { [t1]: 'start' } },
      ]),
    )
    first.send({ type: 'batch', events: [{ ...stock, position: 'e1:5-0' }] })
    first.send({
      type: 'subscribed',
      results: [{ channel: t1, ok: true, recovered: true, position: 'e1:5-0' }],
    })
    await eventually(() => expect(stream.wholeHistory.value).toEqual(new Map([[t1, true]])))
    expect(stream.recovery.value).toEqual([])
    expect(events).toHaveLength(1)

    stream.subscribe([t2], { fromStart: true })
    await eventually(() => expect(first.received).toHaveLength(2))
    first.send({ type: 'subscribed', results: [{ channel: t2, ok: true, recovered: false }] })
    await eventually(() =>
      expect(stream.wholeHistory.value).toEqual(
        new Map([
          [t1, true],
          [t2, false],
        ]),
      ),
    )

    const second = await restart(first, 2)
    await eventually(() =>
      expect(second.received).toEqual([
        {
          type: 'subscribe',
          channels: [TASKS_ALL, t1, t2],
          since: { [t1]: 'e1:5-0', [t2]: 'start' },
        },
      ]),
    )
    second.send({
      type: 'subscribed',
      results: [
        { channel: TASKS_ALL, ok: true },
        { channel: t1, ok: true, recovered: false },
        { channel: t2, ok: true, recovered: true },
      ],
    })
    await eventually(() => expect(stream.wholeHistory.value.get(t2)).toBe(true))
    expect(stream.recovery.value).toEqual([{ channel: t1, recovered: false }])
  })

  it('reports which channels a resume could not replay, and passes task notices on', async () => {
    start({ channels: [TASKS_ALL] })
    const notices: NoticeFrame[] = []
    stream.onNotice((notice) => notices.push(notice))
    const connection = await opened(1)
    connection.send({
      type: 'subscribed',
      results: [
        { channel: TASKS_ALL, ok: true, recovered: false, position: 'e2:1-0' },
        { channel: SYSTEM, ok: true, position: 'e2:1-0' },
      ],
    })
    await eventually(() =>
      expect(stream.recovery.value).toEqual([{ channel: TASKS_ALL, recovered: false }]),
    )
    const stale = {
      type: 'notice',
      code: 'task_stale',
      task_id: 't1',
      message: 'no event for 60 s',
    }
    connection.send(stale)
    await eventually(() => expect(notices).toEqual([stale]))
    expect(stream.bridgeUp.value).toBe(true)
  })

  it.each([CloseCode.UNAUTHORIZED, CloseCode.FORBIDDEN_ORIGIN, CloseCode.PROTOCOL_VIOLATION, 4999])(
    'does not reconnect after close code %i',
    async (code) => {
      start()
      const connection = await opened(1)
      connection.socket.close(code)
      await eventually(() => expect(stream.state.value).toBe('closed'))
      expect(stream.lastCloseCode.value).toBe(code)
      await vi.advanceTimersByTimeAsync(120_000)
      expect(server.connections).toHaveLength(1)
    },
  )

  it('connects again on open() after a close it did not retry', async () => {
    start()
    const first = await opened(1)
    first.socket.close(CloseCode.SHUTDOWN)
    await eventually(() => expect(stream.state.value).toBe('reconnecting'))
    await vi.advanceTimersByTimeAsync(30_000)
    const second = await opened(2)
    second.socket.close(CloseCode.UNAUTHORIZED)
    await eventually(() => expect(stream.state.value).toBe('closed'))
    stream.open()
    expect(stream.state.value).toBe('connecting')
    await opened(3)
  })

  it('records error frames and refused channels', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    start()
    const connection = await opened(1)
    connection.send({
      type: 'subscribed',
      results: [
        { channel: TASKS_ALL, ok: true },
        {
          channel: 'events:user:u2',
          ok: false,
          code: 'forbidden_channel',
          message: 'not your channel',
        },
      ],
    })
    await eventually(() =>
      expect(stream.lastError.value).toEqual({
        code: 'forbidden_channel',
        message: 'not your channel',
        channel: 'events:user:u2',
      }),
    )
    connection.send({ type: 'notice', code: 'bridge_down', message: 'Redis lost' })
    await eventually(() => expect(stream.bridgeUp.value).toBe(false))
  })

  it('closes for good when its scope ends', async () => {
    start()
    const connection = await opened(1)
    const closed = new Promise<number>((resolve) => connection.socket.on('close', resolve))
    scope.stop()
    expect(await closed).toBe(1000)
    expect(stream.state.value).toBe('closed')
    await vi.advanceTimersByTimeAsync(60_000)
    expect(server.connections).toHaveLength(1)
  })
})
