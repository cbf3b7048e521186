import { until } from '@stockpulse/testing'
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { TestClient } from '../../src/test-support/gateway.js'
import { expectWholeJobDelivered, redisChannels, untilIdle, withGateway } from './support.js'

// Finding 3: clients that send three subscribe frames and vanish 2 ms later left channels
// subscribed for good: a join that finished after the close put the dead connection back on them.

const ATTACKERS = 100

const target = withGateway()

describe('abuse: clients that vanish mid-subscribe', () => {
  it('leaves no channel, held buffer or queued frame behind, here or in Redis', async () => {
    const bystander = await TestClient.open(
      target.gateway.wsUrl('?channels=events:tasks,events:indicators'),
    )
    const attack = Array.from({ length: ATTACKERS }, (_, i) => vanish(i))
    await Promise.all([
      ...attack,
      expectWholeJobDelivered(target.publisher, [bystander], 'calc_during_vanish', 200),
    ])

    await until(
      async () => {
        const stats = await target.gateway.stats()
        return stats.connections === 1 && Object.keys(stats.channels).length === 2
      },
      'every vanished client and its channels to be gone',
      15_000,
    )
    const stats = await target.gateway.stats()
    expect(stats.channels).toEqual({ 'events:tasks': 1, 'events:indicators': 1 })
    expect(stats.queued_subscribes).toBe(0)
    expect(stats.held_events).toBe(0)
    expect(stats.resumes).toMatchObject({ running: 0, waiting: 0 })
    await until(
      async () => (await redisChannels(target.redis.url)).length === 2,
      'Redis to hold only the bystander channels',
      10_000,
    )
    expect((await redisChannels(target.redis.url)).sort()).toEqual([
      'events:indicators',
      'events:tasks',
    ])
    await untilIdle(target.gateway, 'the vanished clients')
    await expectWholeJobDelivered(target.publisher, [bystander], 'calc_after_vanish', 200)
    await bystander.close()
  })
})

/** Connects, sends three subscribe frames, and drops the TCP connection 2 ms later. */
async function vanish(i: number): Promise<void> {
  const ws = new WebSocket(target.gateway.wsUrl('?channels='))
  ws.on('error', () => {})
  await new Promise((resolve) => ws.once('open', resolve))
  for (let k = 0; k < 3; k++) {
    ws.send(JSON.stringify({ type: 'subscribe', channels: [`events:task:vanish_${i}_${k}`] }))
  }
  setTimeout(() => ws.terminate(), 2)
  await new Promise((resolve) => ws.once('close', resolve))
}
