import { createMemoryBus } from '@stockpulse/events'
import { describe, expect, it } from 'vitest'
import { taskProgress } from '../bench/job.js'
import { createBusBridge, createGateway, loadConfig } from './index.js'
import { silentLogger, TestClient } from './test-support/gateway.js'

describe('bus-bridge', () => {
  it('runs the gateway in the same process as a producer, without Redis (the demo)', async () => {
    const bus = createMemoryBus()
    const bridge = createBusBridge(bus)
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1' })
    const gateway = createGateway({ bridge, config, logger: silentLogger })
    const { port } = await gateway.listen()
    const client = await TestClient.open(`ws://127.0.0.1:${port}/ws/events?channels=events:tasks`)
    const event = taskProgress('calc_demo', 10, 100)
    bus.publish('events:tasks', JSON.stringify(event))
    expect(await client.next((m) => m.event_type === 'task.progress')).toEqual(event)
    expect(bridge.state).toBe('ready')
    await client.close()
    await gateway.close()
    await bridge.close()
    expect(bridge.state).toBe('closed')
  })

  it('has no history: a resume is acked recovered: false, with no replay and no snapshot', async () => {
    const bus = createMemoryBus()
    const bridge = createBusBridge(bus)
    const gateway = createGateway({
      bridge,
      config: loadConfig({ PORT: '0', HOST: '127.0.0.1' }),
      logger: silentLogger,
    })
    const { port } = await gateway.listen()
    expect(bridge.history).toBeUndefined()
    const client = await TestClient.open(`ws://127.0.0.1:${port}/ws/events?channels=`)
    client.send({
      type: 'subscribe',
      channels: ['events:tasks', 'events:indicators'],
      since: { 'events:tasks': 'abc:1-0' },
    })
    const ack = await client.next((m) => m.type === 'subscribed' && m !== client.received[1])
    expect(client.received.slice(2)).toEqual([
      {
        type: 'subscribed',
        results: [
          { channel: 'events:tasks', ok: true, recovered: false },
          { channel: 'events:indicators', ok: true },
        ],
      },
    ])
    expect(ack).toBe(client.received[2])
    const event = taskProgress('calc_bus', 1, 100)
    bus.publish('events:tasks', JSON.stringify(event))
    expect(await client.next((m) => m.event_type === 'task.progress')).toEqual(event)
    expect(gateway.stats().resumes).toEqual({
      recovered: 0,
      unrecovered: 1,
      running: 0,
      waiting: 0,
    })
    await client.close()
    await gateway.close()
    await bridge.close()
  })

  it('subscribes the bus once per channel and stops delivering after unsubscribe', async () => {
    const bus = createMemoryBus()
    const bridge = createBusBridge(bus)
    const got: string[] = []
    bridge.listen({ message: (channel, text) => got.push(`${channel} ${text}`), state: () => {} })
    bridge.subscribe('events:tasks')
    bridge.subscribe('events:tasks')
    expect(await bridge.subscribed('events:tasks')).toBe(true)
    bus.publish('events:tasks', 'a')
    await Promise.resolve()
    bridge.unsubscribe('events:tasks')
    expect(await bridge.subscribed('events:tasks')).toBe(false)
    bus.publish('events:tasks', 'b')
    await Promise.resolve()
    expect(got).toEqual(['events:tasks a'])
  })
})
