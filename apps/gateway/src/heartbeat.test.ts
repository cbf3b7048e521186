import { CloseCode, createMemoryBus } from '@stockpulse/events'
import { until } from '@stockpulse/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { createBusBridge } from './bus-bridge.js'
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
    const client = await TestClient.open(test.wsUrl())
    const opened = Date.now()
    expect(await client.closed).toEqual({
      code: CloseCode.HEARTBEAT_TIMEOUT,
      reason: 'heartbeat timeout',
    })
    expect(Date.now() - opened).toBeGreaterThanOrEqual(1_950)
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
