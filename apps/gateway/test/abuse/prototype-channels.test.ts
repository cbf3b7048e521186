import { describe, expect, it } from 'vitest'
import { taskProgress } from '../../bench/job.js'
import { TestClient } from '../../src/test-support/gateway.js'
import { expectWholeJobDelivered, withGateway } from './support.js'

// Finding 1: `constructor`, `__proto__`, `toString`... were channels (an object lookup found
// Object.prototype), and one PUBLISH on them threw inside node-redis: no delivery until a restart.

const NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']

const target = withGateway()

describe('abuse: Object.prototype names as channels', () => {
  it('refuses them, so a PUBLISH on them reaches nobody, and delivery goes on', async () => {
    const bystander = await TestClient.open(
      target.gateway.wsUrl('?channels=events:tasks,events:indicators'),
    )
    const attacker = await TestClient.open(target.gateway.wsUrl(`?channels=${NAMES.join(',')}`))
    const refused = NAMES.map((channel) => ({
      channel,
      ok: false,
      code: 'invalid_channel',
      message: `unknown channel ${JSON.stringify(channel)}`,
    }))
    expect(attacker.received[1]).toEqual({ type: 'subscribed', results: refused })
    attacker.send({ type: 'subscribe', id: 1, channels: NAMES })
    expect(await attacker.next((m) => m.id === 1)).toEqual({
      type: 'subscribed',
      id: 1,
      results: refused,
    })

    for (const name of NAMES) {
      expect(await target.publisher.publish(name, taskProgress('calc_proto', 1, 10)), name).toBe(0)
    }
    expect((await target.gateway.get('/healthz')).status).toBe(200)
    const stats = await target.gateway.stats()
    expect(stats.bridge).toEqual({ kind: 'redis', state: 'ready' })
    expect(Object.keys(stats.channels).sort()).toEqual(['events:indicators', 'events:tasks'])
    await expectWholeJobDelivered(target.publisher, [bystander], 'calc_after_proto', 100)
    await Promise.all([attacker.close(), bystander.close()])
  })
})
