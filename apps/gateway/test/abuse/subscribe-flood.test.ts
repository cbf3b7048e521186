import { CloseCode } from '@stockpulse/events'
import { until } from '@stockpulse/testing'
import { describe, expect, it } from 'vitest'
import { TestClient } from '../../src/test-support/gateway.js'
import { expectWholeJobDelivered, redisChannels, rss, untilIdle, withGateway } from './support.js'

// Finding 2: subscribe/unsubscribe frames for 100 channels as fast as a client can send them
// queued without bound, outlived the connection, and kept a core busy for minutes after it left.

const CHANNELS = Array.from({ length: 100 }, (_, i) => `events:task:flood_${i}`)
/** Frames the attacker sends at most: far more than the limits let through. */
const FRAMES = 5_000

const target = withGateway()

describe('abuse: a subscribe flood', () => {
  it('closes the flooder with RATE_LIMITED, drops its queue, and costs the others nothing', async () => {
    const bystander = await TestClient.open(
      target.gateway.wsUrl('?channels=events:tasks,events:indicators'),
    )
    await untilIdle(target.gateway, 'start-up')
    const baseline = await rss(target.gateway)

    const attacker = await TestClient.open(target.gateway.wsUrl('?channels='))
    let sent = 0
    const flood = (async () => {
      for (; sent < FRAMES && attacker.ws.readyState === attacker.ws.OPEN; sent++) {
        const type = sent % 2 === 0 ? 'subscribe' : 'unsubscribe'
        attacker.send({ type, channels: CHANNELS })
        // Let the socket write now and then, as a client flooding a real network does.
        if (sent % 50 === 0) await new Promise((resolve) => setImmediate(resolve))
      }
    })()
    const [closed] = await Promise.all([
      attacker.closed,
      flood,
      expectWholeJobDelivered(target.publisher, [bystander], 'calc_during_flood', 200),
    ])
    // Whichever limit it hits first: the queue (8 frames) or the rate (20 at once, then 10/s).
    expect(closed.code).toBe(CloseCode.RATE_LIMITED)
    expect(['subscribe frames too fast', 'too many subscribe frames waiting']).toContain(
      closed.reason,
    )
    expect(sent).toBeLessThan(FRAMES)

    // Nothing of the attacker is left: no queued frames, no channels, here or in Redis.
    await until(
      async () => {
        const stats = await target.gateway.stats()
        return stats.connections === 1 && stats.queued_subscribes === 0
      },
      'the attacker and its queue to be gone',
      10_000,
    )
    const stats = await target.gateway.stats()
    expect(Object.keys(stats.channels).sort()).toEqual(['events:indicators', 'events:tasks'])
    expect(stats.held_events).toBe(0)
    expect(stats.closes_by_code[CloseCode.RATE_LIMITED]).toBe(1)
    await until(
      async () =>
        (await redisChannels(target.redis.url)).every((c) => !c.startsWith('events:task:')),
      "the attacker's channels to be unsubscribed in Redis",
      10_000,
    )
    await untilIdle(target.gateway, 'the flood')
    expect(await rss(target.gateway)).toBeLessThan(baseline * 2)
    await expectWholeJobDelivered(target.publisher, [bystander], 'calc_after_flood', 200)
    await bystander.close()
  })
})
