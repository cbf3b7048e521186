import { CloseCode, createMarketSnapshotEvent, createTaskProgressEvent } from '@stockpulse/events'
import { until } from '@stockpulse/testing'
import { describe, expect, it } from 'vitest'
import { TestClient } from '../../src/test-support/gateway.js'
import {
  expectWholeJobDelivered,
  rss,
  streamPositions,
  untilIdle,
  withGateway,
  writeHistory,
} from './support.js'

// Finding 4: a resume waited for its socket to drain without a time limit while it held one of
// the 4 resume slots; four resumers that never read held them all, every other resume waited,
// and the live events held for those waiting grew without bound.

const BIG_SNAPSHOTS = 300
const HELD_CAP = 50
const OWN_TASK = 'calc_resume_own'

const target = withGateway(async (url) => {
  // ~12 MB of market snapshots to replay, more than a socket that is not read takes, on a
  // channel without live traffic in this test: only the drain timeout can end those replays.
  await writeHistory(
    url,
    Array.from({ length: BIG_SNAPSHOTS }, (_, i) => ({
      event: bigSnapshot(i + 1),
      channels: ['events:market'] as const,
    })),
  )
  await writeHistory(
    url,
    Array.from({ length: 50 }, (_, i) => ({
      event: progress(OWN_TASK, i),
      channels: [`events:task:${OWN_TASK}`] as const,
    })),
  )
  return {
    env: {
      MAX_CLIENT_BUFFER_BYTES: '65536',
      RESUME_DRAIN_TIMEOUT_S: '3',
      MAX_HELD_EVENTS: String(HELD_CAP),
    },
  }
})

describe('abuse: resumers that never read', () => {
  it('closes them with SLOW_CLIENT after the drain timeout, and the other resumes go on', async () => {
    const live = await TestClient.open(
      target.gateway.wsUrl('?channels=events:tasks,events:indicators'),
    )
    await untilIdle(target.gateway, 'start-up')
    const baseline = await rss(target.gateway)
    const [first] = await streamPositions(target.redis.url, 'events:market')

    // Four resumers take every slot, and stop reading.
    const stalled = await Promise.all(
      [1, 2, 3, 4].map(() => TestClient.open(target.gateway.wsUrl('?channels='))),
    )
    for (const client of stalled) {
      client.ws.pause()
      client.send({
        type: 'subscribe',
        channels: ['events:market'],
        since: { 'events:market': first! },
      })
    }
    await until(
      async () => (await target.gateway.stats()).resumes.running === 4,
      'the four stalled resumes to hold every slot',
    )
    // A fifth waits for a slot and holds the live events of events:tasks meanwhile.
    const hoarder = await TestClient.open(target.gateway.wsUrl('?channels='))
    hoarder.send({
      type: 'subscribe',
      channels: ['events:tasks'],
      since: { 'events:tasks': first! },
    })
    // An honest client resumes its own task meanwhile.
    const [own, ...missed] = await streamPositions(target.redis.url, `events:task:${OWN_TASK}`)
    const resumer = await TestClient.open(target.gateway.wsUrl('?channels='))
    resumer.send({
      type: 'subscribe',
      id: 'own',
      channels: [`events:task:${OWN_TASK}`],
      since: { [`events:task:${OWN_TASK}`]: own },
    })
    await until(
      async () => (await target.gateway.stats()).resumes.waiting === 2,
      'the hoarder and the honest resume to wait for a slot',
    )

    // Live traffic goes on for the others: the hoarder's held events pass the cap (a job of
    // 3,000 stocks has 62 events on events:tasks).
    await expectWholeJobDelivered(target.publisher, [live], 'calc_during_stall', 3_000)
    expect(await hoarder.closed).toEqual({ code: CloseCode.SLOW_CLIENT, reason: 'client too slow' })

    // The stalled resumers are closed once their drain times out; the honest resume gets its turn.
    const ack = await resumer.next((m) => m.id === 'own', 20_000)
    expect(ack).toEqual({
      type: 'subscribed',
      id: 'own',
      results: [
        {
          channel: `events:task:${OWN_TASK}`,
          ok: true,
          recovered: true,
          position: missed.at(-1),
        },
      ],
    })
    expect(resumer.events().map((e) => e.position)).toEqual(missed)
    await until(
      async () => (await target.gateway.stats()).slow_disconnects === 5,
      'the four stalled resumers and the hoarder to be closed as slow',
      10_000,
    )
    // Their close frame waits behind what they never read: a client reading again within the
    // gateway's close timeout (5 s) gets it, a later one finds its connection cut. Which of the
    // two happens here depends on how long the steps above took on a loaded machine; the gateway
    // counts each as a SLOW_CLIENT close either way.
    for (const client of stalled) client.ws.resume()
    for (const client of stalled) {
      expect([CloseCode.SLOW_CLIENT, 1006]).toContain((await client.closed).code)
    }
    await until(
      async () => (await target.gateway.stats()).closes_by_code[CloseCode.SLOW_CLIENT] === 5,
      'the gateway to count five SLOW_CLIENT closes',
      10_000,
    )

    await until(
      async () => (await target.gateway.stats()).connections === 2,
      'the closed resumers to be gone',
      10_000,
    )
    const stats = await target.gateway.stats()
    expect(stats.held_events).toBe(0)
    expect(stats.queued_subscribes).toBe(0)
    expect(stats.resumes).toMatchObject({ running: 0, waiting: 0 })
    await untilIdle(target.gateway, 'the stalled resumes')
    // Four replays of ~12 MB were read; what is left of them is garbage, not a leak.
    expect(await rss(target.gateway)).toBeLessThan(baseline * 3)
    await expectWholeJobDelivered(target.publisher, [live], 'calc_after_stall', 200)
    await Promise.all([live.close(), resumer.close()])
  })
})

/** A ~40 KB market snapshot, under MAX_EVENT_BYTES. */
function bigSnapshot(index: number) {
  return createMarketSnapshotEvent({
    stock_code: String(index).padStart(6, '0'),
    trade_date: '2026-01-02',
    bar: { open: 10, high: 11, low: 9, close: 10.5, volume: 1_000 },
    indicators: Object.fromEntries(Array.from({ length: 1_800 }, (_, i) => [`IND_${i}`, { v: i }])),
  })
}

function progress(taskId: string, processed: number) {
  return createTaskProgressEvent({
    task_id: taskId,
    task_type: 'batch_daily',
    status: 'running',
    progress: processed,
    message: `${processed} done`,
    processed,
    total: 100,
    failed: 0,
  })
}
