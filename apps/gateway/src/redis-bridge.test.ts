import { setTimeout as delay } from 'node:timers/promises'
import { type RedisServer, startRedisServer, until } from '@stockpulse/testing'
import { createClient } from 'redis'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { taskProgress } from '../bench/job.js'
import type { BridgeState } from './bridge.js'
import { createRedisBridge } from './redis-bridge.js'
import {
  silentLogger,
  startGateway,
  TestClient,
  type TestGateway,
  untilReady,
} from './test-support/gateway.js'
import { createPublisher } from './test-support/redis.js'

let redis: RedisServer
beforeEach(async () => {
  redis = await startRedisServer()
})
afterEach(() => redis.stop())

/** Publishes until Redis reports `receivers` subscribers got it (the bridge may be resubscribing). */
async function publishUntil(url: string, channel: string, message: unknown, receivers: number) {
  const publisher = await createPublisher(url)
  try {
    await until(
      async () => (await publisher.publish(channel, message)) === receivers,
      `${receivers} receivers on ${channel}`,
    )
  } finally {
    await publisher.close()
  }
}

describe('redis-bridge', () => {
  it('subscribes what is wanted, hands over messages as published, and unsubscribes', async () => {
    const bridge = createRedisBridge(redis.url, { logger: silentLogger })
    const got: string[] = []
    const states: BridgeState[] = []
    bridge.listen({
      message: (channel, text) => got.push(`${channel} ${text}`),
      state: (s) => states.push(s),
    })
    bridge.subscribe('events:task:calc_1')
    expect(await bridge.subscribed('events:task:calc_1')).toBe(false) // not ready yet
    // A resume asked while the bridge starts (a browser back on a gateway that just started)
    // waits for ready instead of giving up, so it still gets its replay.
    expect(bridge.state).toBe('connecting')
    expect(await bridge.subscribed('events:task:calc_1', { waitForStart: true })).toBe(true)
    expect(bridge.state).toBe('ready')
    expect(await bridge.subscribed('events:task:never')).toBe(false)
    // Confirmed means heard: the first publish after it reaches the bridge.
    bridge.subscribe('events:task:calc_2')
    expect(await bridge.subscribed('events:task:calc_2')).toBe(true)
    const publisher = await createPublisher(redis.url)
    expect(await publisher.publish('events:task:calc_2', 'first')).toBe(1)
    await publisher.close()
    await publishUntil(redis.url, 'events:task:calc_1', 'hello', 1)
    await until(() => got.length >= 2, 'two messages')
    expect(got.slice(0, 2)).toEqual(['events:task:calc_2 first', 'events:task:calc_1 hello'])
    bridge.unsubscribe('events:task:calc_1')
    await publishUntil(redis.url, 'events:task:calc_1', 'gone', 0)
    await bridge.close()
    expect(states).toEqual(['ready', 'closed'])
  })

  it('keeps trying while Redis is away and applies what changed meanwhile once it is back', async () => {
    const bridge = createRedisBridge(redis.url, {
      logger: silentLogger,
      maxReconnectDelayMs: 100,
      readyWaitMs: 60_000,
    })
    const states: BridgeState[] = []
    bridge.listen({ message: () => {}, state: (s) => states.push(s) })
    bridge.subscribe('events:task:kept')
    bridge.subscribe('events:task:dropped')
    await until(() => bridge.state === 'ready', 'ready')
    await redis.kill()
    await until(() => bridge.state === 'down', 'down')
    expect(await bridge.subscribed('events:task:kept')).toBe(false)
    // An outage is not start-up: a resume then is answered at once, not after the wait.
    const answer = bridge.subscribed('events:task:kept', { waitForStart: true })
    const waited = delay(10_000, 'waited', { ref: false })
    expect(await Promise.race([answer, waited])).toBe(false)
    bridge.unsubscribe('events:task:dropped')
    bridge.subscribe('events:task:added')
    await redis.start()
    await until(() => bridge.state === 'ready', 'ready again', 10_000)
    const publisher = await createPublisher(redis.url)
    expect(await publisher.publish('events:task:kept', 'x')).toBe(1)
    expect(await publisher.publish('events:task:added', 'x')).toBe(1)
    expect(await publisher.publish('events:task:dropped', 'x')).toBe(0)
    await publisher.close()
    await bridge.close()
    expect(states).toEqual(['ready', 'down', 'ready', 'closed'])
  })
})

describe('redis-bridge start-up', () => {
  it('answers a resume asked while Redis is not up yet once it comes up within the wait', async () => {
    await redis.kill()
    const bridge = createRedisBridge(redis.url, {
      logger: silentLogger,
      maxReconnectDelayMs: 100,
      readyWaitMs: 60_000,
    })
    bridge.listen({ message: () => {}, state: () => {} })
    bridge.subscribe('events:task:early')
    const answer = bridge.subscribed('events:task:early', { waitForStart: true })
    await redis.start()
    expect(await answer).toBe(true)
    const publisher = await createPublisher(redis.url)
    expect(await publisher.publish('events:task:early', 'x')).toBe(1)
    await publisher.close()
    await bridge.close()
  })

  it('answers false at once to a resume still waiting when the bridge closes', async () => {
    await redis.kill()
    const bridge = createRedisBridge(redis.url, { logger: silentLogger, readyWaitMs: 60_000 })
    bridge.listen({ message: () => {}, state: () => {} })
    bridge.subscribe('events:task:never')
    const answer = bridge.subscribed('events:task:never', { waitForStart: true })
    await bridge.close()
    expect(await answer).toBe(false)
  })
})

describe('redis-bridge listener', () => {
  it('keeps delivering, and stays ready, when the listener throws', async () => {
    const bridge = createRedisBridge(redis.url, { logger: silentLogger })
    const got: string[] = []
    const states: BridgeState[] = []
    bridge.listen({
      message(channel, text) {
        if (text === 'poison') throw new TypeError('listener bug')
        got.push(`${channel} ${text}`)
      },
      state: (s) => states.push(s),
    })
    bridge.subscribe('events:tasks')
    await until(() => bridge.state === 'ready', 'ready')
    expect(await bridge.subscribed('events:tasks')).toBe(true)
    const publisher = await createPublisher(redis.url)
    for (const text of ['one', 'poison', 'two', 'poison', 'three']) {
      expect(await publisher.publish('events:tasks', text)).toBe(1)
    }
    await publisher.close()
    await until(() => got.length === 3, 'the three good messages')
    expect(got).toEqual(['events:tasks one', 'events:tasks two', 'events:tasks three'])
    expect(bridge.state).toBe('ready')
    await bridge.close()
    expect(states).toEqual(['ready', 'closed'])
  })

  it('comes back by itself when Redis drops its subscriber connection', async () => {
    const bridge = createRedisBridge(redis.url, { logger: silentLogger, maxReconnectDelayMs: 100 })
    const got: string[] = []
    bridge.listen({ message: (_, text) => got.push(text), state: () => {} })
    bridge.subscribe('events:tasks')
    await until(() => bridge.state === 'ready', 'ready')
    const admin = createClient({ url: redis.url })
    await admin.connect()
    expect(await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub'])).toBeGreaterThanOrEqual(1)
    await admin.close()
    await publishUntil(redis.url, 'events:tasks', 'after', 1)
    await until(() => got.includes('after'), 'a message after the kill')
    expect(bridge.state).toBe('ready')
    await bridge.close()
  })
})

describe('redis outage', () => {
  let test: TestGateway
  afterEach(() => test.close())

  it('stays up, reports unhealthy, tells clients, and resubscribes every channel when Redis is back', async () => {
    test = await startGateway({ REDIS_URL: redis.url })
    await untilReady(test)
    const client = await TestClient.open(test.wsUrl('?channels=events:task:calc_o1,events:tasks'))
    expect((await fetch(test.httpUrl('/healthz'))).status).toBe(200)

    await redis.kill()
    expect(await client.next((m) => m.type === 'notice')).toEqual({
      type: 'notice',
      code: 'bridge_down',
      message: 'The gateway lost Redis: live events pause until `bridge_up`.',
    })
    const health = await fetch(test.httpUrl('/healthz'))
    expect(health.status).toBe(503)
    expect(await health.json()).toEqual({ status: 'unavailable', bridge: 'down' })
    client.send({ type: 'subscribe', channels: ['events:task:calc_o2'] })
    await client.next((m) => m.type === 'subscribed' && client.received.indexOf(m) > 1)

    await redis.start()
    expect(await client.next((m) => m.code === 'bridge_up', 10_000)).toEqual({
      type: 'notice',
      code: 'bridge_up',
      message: 'Redis is back and every channel is subscribed again.',
    })
    expect((await fetch(test.httpUrl('/healthz'))).status).toBe(200)
    const publisher = await createPublisher(redis.url)
    for (const channel of ['events:task:calc_o1', 'events:task:calc_o2']) {
      expect(await publisher.publish(channel, taskProgress(channel.slice(12), 1, 100))).toBe(1)
    }
    await publisher.close()
    await client.next((m) => m.task_id === 'calc_o2')
    expect(client.events().map((e) => e.task_id)).toEqual(['calc_o1', 'calc_o2'])
    await client.close()
  })

  it('starts while Redis is down and tells each new client until it is up', async () => {
    await redis.kill()
    test = await startGateway({ REDIS_URL: redis.url })
    expect(await (await fetch(test.httpUrl('/healthz'))).json()).toEqual({
      status: 'unavailable',
      bridge: 'connecting',
    })
    const client = await TestClient.open(test.wsUrl('?channels=events:task:calc_s'))
    expect(client.received.map((m) => m.type)).toEqual(['connected', 'notice', 'subscribed'])
    expect(client.received[1]).toMatchObject({ code: 'bridge_down' })
    await redis.start()
    await client.next((m) => m.code === 'bridge_up', 10_000)
    await publishUntil(redis.url, 'events:task:calc_s', taskProgress('calc_s', 1, 100), 1)
    await client.next((m) => m.task_id === 'calc_s')
    await client.close()
  })
})
