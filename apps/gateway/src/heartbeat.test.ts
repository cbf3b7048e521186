import { CloseCode, createMemoryBus } from '@stockpulse/events'
import { until } from '@stockpulse/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { createBusBridge } from './bus-bridge.js'
import { startGateway, TestClient, type TestGateway } from './test-support.js'

let test: TestGateway
beforeEach(async () => {
  test = await startGateway(
    { HEARTBEAT_TIMEOUT_S: '0.8', SWEEP_INTERVAL_S: '0.1' },
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
    expect(Date.now() - opened).toBeGreaterThanOrEqual(750)
    await until(() => test.gateway.stats().connections === 0, 'server side closed')
    expect(test.gateway.stats().closes_by_code).toEqual({ [CloseCode.HEARTBEAT_TIMEOUT]: 1 })
  })

  it('keeps connections that send frames, and times them out once they stop', async () => {
    const client = await TestClient.open(test.wsUrl())
    const beat = setInterval(() => client.send({ type: 'heartbeat' }), 100)
    await new Promise((resolve) => setTimeout(resolve, 1_500))
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
