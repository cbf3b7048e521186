import v8 from 'node:v8'
import { runInNewContext } from 'node:vm'
import { CloseCode } from '@stockpulse/events'
import { until } from '@stockpulse/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { jobMessages, stockEvent, taskProgress } from '../bench/job.js'
import { startGateway, TestClient, type TestGateway, untilReady } from './test-support/gateway.js'
import { withRedis } from './test-support/redis.js'

const CAP = 64 * 1024
/** A larger cap for the conflation test, so that fewer, larger events fill it. */
const LARGE_CAP = 512 * 1024
v8.setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
// Progress of several tasks on one channel, and large stock events to fill the socket.
const PROGRESS = 'events:tasks'
const FILLERS = 'events:indicators'

const shared = withRedis()
let test: TestGateway

afterEach(() => test.close())

/** Publishes and waits until the gateway has handled it (written or held back). */
async function publish(event: unknown, channel = PROGRESS): Promise<void> {
  const before = test.gateway.stats().messages.received
  await shared.publisher.publish(channel, event)
  await until(() => test.gateway.stats().messages.received > before, 'the gateway to receive')
  await new Promise((resolve) => setImmediate(resolve))
}

/** Heap and Buffer memory still reachable after a full garbage collection. */
function retainedBytes(): number {
  gc()
  const { heapUsed, external } = process.memoryUsage()
  return heapUsed + external
}

/** A ~128 KB stock event: a few of them fill the large cap. */
function filler(index: number) {
  const latest = Object.fromEntries(Array.from({ length: 6_000 }, (_, i) => [`IND_${i}`, { v: i }]))
  return { ...stockEvent('calc_fill', index), latest }
}

describe('backpressure', () => {
  it('conflates progress over MAX_CLIENT_BUFFER_BYTES, then closes the client with SLOW_CLIENT', async () => {
    test = await startGateway({
      REDIS_URL: shared.redis.url,
      MAX_CLIENT_BUFFER_BYTES: String(LARGE_CAP),
      MAX_EVENT_BYTES: String(LARGE_CAP),
    })
    await untilReady(test)
    const client = await TestClient.open(test.wsUrl(`?channels=${PROGRESS},${FILLERS}`))
    client.ws.pause()

    // Fill the socket until the gateway starts holding progress back.
    let probes = 0
    for (let i = 0; test.gateway.stats().congested_connections === 0; i++) {
      expect(i, 'the socket never filled').toBeLessThan(2_000)
      await publish(taskProgress('calc_probe', ++probes, 10_000))
      if (test.gateway.stats().congested_connections === 0) await publish(filler(i), FILLERS)
    }
    for (let value = 1; value <= 30; value++)
      await publish(taskProgress('calc_slow', value, 10_000))
    await publish(taskProgress('calc_other', 5, 10_000))
    expect(test.gateway.stats().dropped_by_reason.conflated).toBe(29)

    client.ws.resume()
    await client.next((m) => m.task_id === 'calc_slow')
    await client.next((m) => m.task_id === 'calc_other')
    const progressOf = (task: string) =>
      client
        .events()
        .filter((e) => e.task_id === task)
        .map((e) => e.processed)
    expect(progressOf('calc_slow')).toEqual([30])
    expect(progressOf('calc_other')).toEqual([5])
    expect(progressOf('calc_probe')).toEqual(Array.from({ length: probes }, (_, i) => i + 1))
    expect(test.gateway.stats().congested_connections).toBe(0)

    // Now a client that stays behind by twice the cap is let go.
    client.ws.pause()
    for (let i = 0; test.gateway.stats().slow_disconnects === 0; i++) {
      expect(i, 'the client was never closed').toBeLessThan(2_000)
      await publish(filler(i), FILLERS)
    }
    client.ws.resume()
    expect(await client.closed).toEqual({ code: CloseCode.SLOW_CLIENT, reason: 'client too slow' })
  })

  it('keeps memory bounded while 100 clients that never read get 5,000-stock jobs', async () => {
    test = await startGateway({ REDIS_URL: shared.redis.url, MAX_CLIENT_BUFFER_BYTES: String(CAP) })
    await untilReady(test)
    const clients = await Promise.all(
      Array.from({ length: 100 }, () =>
        TestClient.open(test.wsUrl('?channels=events:tasks,events:indicators')),
      ),
    )
    for (const client of clients) client.ws.pause()
    const job = jobMessages('calc_memory', 5_000)
    const before = retainedBytes()
    // The kernel buffers a few MB per socket: a job (3.6 MB per client) or two fit in there.
    for (let jobs = 1; jobs <= 3; jobs++) {
      await Promise.all(job.map(({ channel, text }) => shared.publisher.publish(channel, text)))
      const received = jobs * job.length
      await until(() => test.gateway.stats().messages.received === received, 'the job', 15_000)
    }
    // Closed sockets still hold what they could not send (ws waits for their close frame).
    const grownMb = (retainedBytes() - before) / 2 ** 20
    expect(test.gateway.stats().slow_disconnects).toBe(100)
    expect(grownMb).toBeLessThan(28)
    for (const client of clients) client.ws.terminate()
  })
})
