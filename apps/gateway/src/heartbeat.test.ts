import { CloseCode, createMemoryBus } from '@stockpulse/events'
import { until } from '@stockpulse/testing'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import { createBusBridge } from './bus-bridge.js'
import type { Connection } from './connection.js'
import { startHeartbeat } from './heartbeat.js'
import { startGateway, TestClient, type TestGateway } from './test-support/gateway.js'

let test: TestGateway
beforeEach(async () => {
  test = await startGateway(
    { HEARTBEAT_TIMEOUT_S: '2', SWEEP_INTERVAL_S: '0.1' },
    { bridge: createBusBridge(createMemoryBus()) },
  )
})
afterEach(() => test.close())

describe('heartbeat', () => {
  it('closes a connection silent for HEARTBEAT_TIMEOUT_S with HEARTBEAT_TIMEOUT', async () => {
    // Taken before the upgrade: the gateway's silence clock starts after it, and the client's
    // `open` event can come late on a loaded machine.
    const opening = Date.now()
    const client = await TestClient.open(test.wsUrl())
    expect(await client.closed).toEqual({
      code: CloseCode.HEARTBEAT_TIMEOUT,
      reason: 'heartbeat timeout',
    })
    expect(Date.now() - opening).toBeGreaterThanOrEqual(1_950)
    await until(() => test.gateway.stats().connections === 0, 'server side closed')
    expect(test.gateway.stats().closes_by_code).toEqual({ [CloseCode.HEARTBEAT_TIMEOUT]: 1 })
  })

  // Beats every 100 ms against a 2 s timeout: an event-loop stall of 0.7 s still leaves 1.2 s.
  it('keeps connections that send frames, and times them out once they stop', async () => {
    const client = await TestClient.open(test.wsUrl())
    const beat = setInterval(() => client.send({ type: 'heartbeat' }), 100)
    const acks = () => client.received.filter((m) => m.type === 'heartbeat_ack').length
    // 40 answered beats: at least 4 s, twice the timeout, with the connection open throughout.
    await until(() => acks() >= 40, '40 heartbeat acks', 20_000)
    clearInterval(beat)
    expect(client.ws.readyState).toBe(WebSocket.OPEN)
    expect((await client.closed).code).toBe(CloseCode.HEARTBEAT_TIMEOUT)
  })

  it('terminates a peer that stops answering pings, even while it sends frames', async () => {
    const client = await TestClient.open(test.wsUrl(), { autoPong: false })
    const beat = setInterval(() => client.send({ type: 'heartbeat' }), 50)
    const { code } = await client.closed
    clearInterval(beat)
    expect(code).toBe(1006)
    await until(() => test.gateway.stats().connections === 0, 'server side closed')
    expect(test.gateway.stats().closes_by_code).toEqual({ 1006: 1 })
  })
})

describe('heartbeat sweeps (fake clock)', () => {
  afterEach(() => vi.useRealTimers())
  /** setImmediate stays real: the sweep's verdict runs after the I/O of its loop turn. */
  const verdict = () => new Promise<void>((resolve) => setImmediate(resolve))

  /** What the sweep reads and calls on a connection. */
  function peer() {
    return {
      readyState: WebSocket.OPEN,
      lastFrameAt: Date.now(),
      awaitingPong: false,
      pings: 0,
      terminated: false,
      ping() {
        this.pings++
      },
      terminate() {
        this.terminated = true
      },
    }
  }

  function sweep(peers: ReturnType<typeof peer>[]) {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] })
    return startHeartbeat({
      timeoutMs: 60_000,
      intervalMs: 100,
      connections: () => peers as unknown as Connection[],
    })
  }

  it('terminates a peer whose ping stayed unanswered for a whole interval', async () => {
    const silent = peer()
    const heartbeat = sweep([silent])
    vi.advanceTimersByTime(100)
    expect(silent.pings).toBe(1)
    vi.advanceTimersByTime(100)
    await verdict()
    expect(silent.terminated).toBe(true)
    heartbeat.stop()
  })

  it('spares a peer whose pong is read before the verdict', async () => {
    const answering = peer()
    const heartbeat = sweep([answering])
    vi.advanceTimersByTime(200)
    // The pong was in the socket when the second sweep ran; the loop reads it before the verdict.
    answering.awaitingPong = false
    await verdict()
    expect(answering.terminated).toBe(false)
    heartbeat.stop()
  })

  it('does not judge pongs in a sweep that ran late: the process was stalled', async () => {
    const slow = peer()
    const heartbeat = sweep([slow])
    vi.advanceTimersByTime(100)
    expect(slow.pings).toBe(1)
    // The process stalls for 400 ms: the clock moves on while the interval's timer cannot run.
    vi.setSystemTime(Date.now() + 400)
    vi.advanceTimersByTime(100)
    await verdict()
    expect(slow.terminated).toBe(false)
    expect(slow.pings).toBe(2)
    // The next sweep, on time, judges again.
    vi.advanceTimersByTime(100)
    await verdict()
    expect(slow.terminated).toBe(true)
    heartbeat.stop()
  })
})
