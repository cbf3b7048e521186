import { createMarketSnapshotEvent, createUserNotificationEvent } from '@stockpulse/events'
import { until } from '@stockpulse/testing'
import { SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { stockEvent, taskProgress } from '../../bench/job.js'
import { TestClient } from '../../src/test-support/gateway.js'
import { expectWholeJobDelivered, withGateway } from './support.js'

// Finding 8: events were not bound to their channel (Bob's notification published on Alice's
// channel reached Alice), and an 8 MB event was forwarded whole.

const SECRET = 'an-abuse-test-secret-long-enough-for-hs256'
const ADMIN_SCOPE = 'stockpulse:admin'

const target = withGateway(async () => ({
  env: { AUTH_JWT_SECRET: SECRET },
  adminToken: await token('ops', ADMIN_SCOPE),
}))

function token(sub: string, scope?: string): Promise<string> {
  return new SignJWT({ sub, ...(scope ? { scope } : {}) })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(SECRET))
}

const note = (userId: string, message: string) =>
  createUserNotificationEvent({ user_id: userId, level: 'info', title: 'Run', message })

describe('abuse: events that do not belong where they are published', () => {
  it('drops another id on an id channel, and events over MAX_EVENT_BYTES, counted by reason', async () => {
    const alice = await TestClient.open(
      target.gateway.wsUrl(
        `?channels=events:user:alice,events:task:calc_a,events:market:000001,events:tasks,events:indicators&token=${await token('alice')}`,
      ),
    )
    const foreign: Array<[string, unknown]> = [
      ['events:user:alice', note('bob', "bob's secret")],
      ['events:task:calc_a', taskProgress('calc_b', 1, 10)],
      ['events:task:calc_a', stockEvent('calc_b', 1)],
      ['events:task:calc_a', { ...stockEvent('calc_b', 2), task_id: undefined }],
      ['events:market:000001', marketSnapshot('000002')],
    ]
    for (const [channel, event] of foreign)
      expect(await target.publisher.publish(channel, event)).toBe(1)
    // 8 MB of valid JSON, on a channel that takes stock events.
    const huge = { ...stockEvent('calc_a', 3), padding: 'x'.repeat(8 * 2 ** 20) }
    expect(await target.publisher.publish('events:indicators', huge)).toBe(1)
    // Then what does belong there, in the same order.
    const own: Array<[string, unknown]> = [
      ['events:user:alice', note('alice', 'yours')],
      ['events:task:calc_a', taskProgress('calc_a', 1, 10)],
      ['events:market:000001', marketSnapshot('000001')],
    ]
    for (const [channel, event] of own)
      expect(await target.publisher.publish(channel, event)).toBe(1)
    await until(() => alice.events().length === own.length, 'her own three events')
    expect(alice.events()).toEqual(own.map(([, event]) => event))

    const stats = await target.gateway.stats()
    expect(stats.dropped_by_reason).toMatchObject({ wrong_id: foreign.length, too_large: 1 })
    const metrics = await target.gateway.get('/metrics', {
      authorization: `Bearer ${await token('ops', ADMIN_SCOPE)}`,
    })
    expect(metrics.body).toContain(
      `stockpulse_gateway_messages_dropped_total{reason="wrong_id"} ${foreign.length}`,
    )
    expect(metrics.body).toContain(
      'stockpulse_gateway_messages_dropped_total{reason="too_large"} 1',
    )
    await expectWholeJobDelivered(target.publisher, [alice], 'calc_a', 100)
    await alice.close()
  })
})

function marketSnapshot(code: string) {
  return createMarketSnapshotEvent({
    stock_code: code,
    trade_date: '2026-01-02',
    bar: { open: 10, high: 11, low: 9, close: 10.5, volume: 1_000 },
    indicators: { RSI_14: { rsi: 55.1 } },
  })
}
