import { createSystemHeartbeatEvent } from '@stockpulse/events'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type EffectScope, effectScope } from 'vue'
import { eventually, startTestServer, type TestServer } from '../test-support/ws-server'
import { useEventStream } from './useEventStream'
import { type UseWorkersReturn, useWorkers } from './useWorkers'

const beat = (instance: string, uptime: number) =>
  createSystemHeartbeatEvent({
    service: 'worker',
    instance_id: instance,
    uptime_seconds: uptime,
    status: 'ok',
  })

describe('useWorkers', () => {
  let server: TestServer
  let scope: EffectScope
  let workers: UseWorkersReturn

  beforeEach(async () => {
    server = await startTestServer()
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] })
    scope = effectScope()
    workers = scope.run(() => useWorkers(useEventStream({ url: server.url })))!
  })

  afterEach(async () => {
    scope.stop()
    vi.useRealTimers()
    await server.close()
  })

  it('joins events:system and shows a worker as lost after 30 s of silence', async () => {
    const gateway = await server.connection(1)
    await eventually(() =>
      expect(gateway.received).toContainEqual({ type: 'subscribe', channels: ['events:system'] }),
    )
    gateway.send(beat('w1', 10))
    gateway.send(beat('w2', 20))
    await eventually(() => expect(workers.workers.value).toHaveLength(2))

    await vi.advanceTimersByTimeAsync(20_000)
    gateway.send(beat('w2', 40))
    await eventually(() => expect(workers.workers.value[0]?.heartbeat.uptime_seconds).toBe(40))
    await vi.advanceTimersByTimeAsync(10_000)
    expect(workers.workers.value.map((w) => [w.heartbeat.instance_id, w.lost])).toEqual([
      ['w2', false],
      ['w1', false],
    ])
    await vi.advanceTimersByTimeAsync(1_000)
    expect(workers.workers.value.map((w) => [w.heartbeat.instance_id, w.lost])).toEqual([
      ['w2', false],
      ['w1', true],
    ])
  })
})
