import { until } from '@stockpulse/testing'
import { createClient } from 'redis'
import { describe, expect, it } from 'vitest'
import { jobMessages } from '../../bench/job.js'
import { TestClient } from '../../src/test-support/gateway.js'
import {
  expectWholeJobDelivered,
  rss,
  streamPositions,
  untilIdle,
  withGateway,
  writeHistory,
} from './support.js'

// Finding 9: 20 subscribe frames of 104 bytes with `since: "<epoch>:0-1"` made the gateway read
// (XRANGE) and throw away 11,200 entries before it found that it could not resume them.

const STOCKS = 5_000
const FRAMES = 20

const target = withGateway(async (url) => {
  await writeHistory(
    url,
    jobMessages('calc_history', STOCKS).map(({ channel, text }) => ({
      event: JSON.parse(text),
      channels: [channel as 'events:indicators'],
    })),
  )
  // Limits high enough to let all 20 frames in: this is about what each of them costs.
  return { env: { SUBSCRIBE_BURST: '100', MAX_QUEUED_SUBSCRIBES: '100' } }
})

describe('abuse: resumes from positions that cannot be resumed', () => {
  it('refuses them from XINFO alone: no XRANGE, no entry read', async () => {
    const bystander = await TestClient.open(
      target.gateway.wsUrl('?channels=events:tasks,events:indicators'),
    )
    const positions = await streamPositions(target.redis.url, 'events:indicators')
    const epoch = positions[0]!.split(':')[0]!
    const ranges = await xrangeCalls(target.redis.url)
    await untilIdle(target.gateway, 'start-up')
    const baseline = await rss(target.gateway)

    const attacker = await TestClient.open(target.gateway.wsUrl('?channels='))
    const far = [
      `${epoch}:0-1`,
      `other:${positions[100]!.split(':')[1]}`,
      `${epoch}:99999999999999-0`,
    ]
    for (let i = 0; i < FRAMES; i++) {
      attacker.send({
        type: 'subscribe',
        id: i,
        channels: ['events:indicators'],
        since: { 'events:indicators': far[i % far.length] },
      })
    }
    await until(
      () => attacker.received.filter((m) => m.type === 'subscribed').length === FRAMES + 1,
      `the ${FRAMES} acks`,
      15_000,
    )
    for (const ack of attacker.received.filter((m) => m.type === 'subscribed').slice(1)) {
      expect(ack).toMatchObject({
        results: [{ channel: 'events:indicators', ok: true, recovered: false }],
      })
    }
    expect(await xrangeCalls(target.redis.url)).toBe(ranges)
    await expectWholeJobDelivered(target.publisher, [bystander], 'calc_during_amplification', 200)

    // A position that can be resumed still is, with one XRANGE for exactly what was missed.
    const honest = await TestClient.open(target.gateway.wsUrl('?channels='))
    const from = positions.length - 10
    honest.send({
      type: 'subscribe',
      id: 'resume',
      channels: ['events:indicators'],
      since: { 'events:indicators': positions[from - 1] },
    })
    expect(await honest.next((m) => m.id === 'resume')).toMatchObject({
      results: [{ channel: 'events:indicators', ok: true, recovered: true }],
    })
    expect(honest.events().map((e) => e.position)).toEqual(positions.slice(from))
    expect(await xrangeCalls(target.redis.url)).toBe(ranges + 1)

    await attacker.close()
    await honest.close()
    await until(
      async () => (await target.gateway.stats()).connections === 1,
      'the attacker to be gone',
    )
    const stats = await target.gateway.stats()
    expect(stats).toMatchObject({ held_events: 0, queued_subscribes: 0 })
    expect(stats.resumes).toMatchObject({
      unrecovered: FRAMES,
      recovered: 1,
      running: 0,
      waiting: 0,
    })
    await untilIdle(target.gateway, 'the resume attempts')
    expect(await rss(target.gateway)).toBeLessThan(baseline * 2)
    await bystander.close()
  })
})

/** How many XRANGE commands the Redis at `url` has run. */
async function xrangeCalls(url: string): Promise<number> {
  const client = createClient({ url })
  await client.connect()
  try {
    const info = await client.info('commandstats')
    return Number(/cmdstat_xrange:calls=(\d+)/.exec(info)?.[1] ?? 0)
  } finally {
    await client.close()
  }
}
