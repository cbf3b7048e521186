import type { Socket } from 'node:net'
import { CloseCode, parseServerMessage, type StockPulseEvent } from '@stockpulse/events'
import { until } from '@stockpulse/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { type ClientOptions, WebSocket } from 'ws'
import { jobMessages, stockEvent, taskProgress } from '../bench/job.js'
import { MAX_INVALID_FRAMES } from './client-frames.js'
import {
  type Received,
  startGateway,
  TestClient,
  type TestGateway,
  untilReady,
} from './test-support/gateway.js'
import { withRedis } from './test-support/redis.js'

const shared = withRedis()
let test: TestGateway
const clients: TestClient[] = []

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()))
  await test?.close()
})

async function gateway(env: Record<string, string> = {}): Promise<TestGateway> {
  test = await startGateway({ REDIS_URL: shared.redis.url, ...env })
  await untilReady(test)
  return test
}

async function open(query = '', options?: ClientOptions) {
  const client = await TestClient.open(test.wsUrl(query), options)
  clients.push(client)
  return client
}

describe('gateway', () => {
  it('delivers worker events to a client written like the seed examples, in order', async () => {
    await gateway()
    const seen: string[] = []
    const ws = new WebSocket(test.wsUrl('?channels=events:tasks,events:indicators'))
    ws.onmessage = (event) => {
      const data = JSON.parse(event.data as string)
      if (data.event_type) seen.push(`${data.event_type} ${data.stock_code ?? data.progress}`)
      else seen.push(data.type)
    }
    await new Promise((resolve) => {
      ws.onopen = resolve
    })
    await until(() => seen.includes('subscribed'), 'subscribed')
    const job = jobMessages('calc_seed', 100)
    for (const { channel, text } of job) await shared.publisher.publish(channel, text)
    await until(() => seen.length === 2 + job.length, 'the whole job')
    const expected = job.map(({ text }) => {
      const event = JSON.parse(text)
      return `${event.event_type} ${event.stock_code ?? event.progress}`
    })
    expect(seen).toEqual(['connected', 'subscribed', ...expected])
    ws.close()
  })

  it('forwards exactly the published text, unknown fields included', async () => {
    await gateway()
    const client = await open('?channels=events:indicators')
    const text = JSON.stringify({ ...stockEvent('calc_text', 7), extra_field: { kept: true } })
    await shared.publisher.publish('events:indicators', text)
    const raw = new Promise<string>((resolve) =>
      client.ws.once('message', (data: Buffer) => resolve(data.toString())),
    )
    await shared.publisher.publish('events:indicators', text)
    expect(await raw).toBe(text)
  })

  it('greets with connected, then acks the query channels one result each', async () => {
    await gateway()
    const client = await open(
      '?channels=events:tasks,events:task:calc_1,nope,events:task:a b,events:user:bob',
    )
    expect(client.received[0]).toEqual({
      type: 'connected',
      connection_id: expect.any(String),
      heartbeat_timeout_s: 60,
      batch: false,
    })
    expect(client.received[1]).toEqual({
      type: 'subscribed',
      results: [
        { channel: 'events:tasks', ok: true },
        { channel: 'events:task:calc_1', ok: true },
        { channel: 'nope', ok: false, code: 'invalid_channel', message: 'unknown channel "nope"' },
        {
          channel: 'events:task:a b',
          ok: false,
          code: 'invalid_channel',
          message: 'events:task:{id}: id may only contain A-Z a-z 0-9 _ . -',
        },
        {
          channel: 'events:user:bob',
          ok: false,
          code: 'forbidden_channel',
          message: 'events:user:bob needs an authenticated connection',
        },
      ],
    })
    for (const message of client.received) {
      expect(parseServerMessage(JSON.stringify(message)).ok).toBe(true)
    }
  })

  it('joins the default channels when the URL names none', async () => {
    await gateway()
    const client = await open()
    expect(client.received[1]).toEqual({
      type: 'subscribed',
      results: [
        { channel: 'events:tasks', ok: true },
        { channel: 'events:indicators', ok: true },
        { channel: 'events:system', ok: true },
      ],
    })
    expect(test.gateway.stats().channels).toEqual({
      'events:tasks': 1,
      'events:indicators': 1,
      'events:system': 1,
    })
  })

  it('acks subscribe and unsubscribe with the request id, and stops delivering after unsubscribe', async () => {
    await gateway()
    const client = await open('?channels=events:task:calc_u1')
    client.send({ type: 'subscribe', id: 7, channels: ['events:task:calc_u2', 'bad'] })
    expect(await client.next((m) => m.type === 'subscribed' && m.id === 7)).toEqual({
      type: 'subscribed',
      id: 7,
      results: [
        { channel: 'events:task:calc_u2', ok: true },
        { channel: 'bad', ok: false, code: 'invalid_channel', message: 'unknown channel "bad"' },
      ],
    })
    await shared.publisher.publish('events:task:calc_u2', taskProgress('calc_u2', 1, 100))
    await client.next((m) => m.task_id === 'calc_u2')

    client.send({ type: 'unsubscribe', id: 'u', channels: ['events:task:calc_u2'] })
    expect(await client.next((m) => m.type === 'unsubscribed')).toEqual({
      type: 'unsubscribed',
      id: 'u',
      results: [{ channel: 'events:task:calc_u2', ok: true }],
    })
    expect(
      await shared.publisher.publish('events:task:calc_u2', taskProgress('calc_u2', 2, 100)),
    ).toBe(0)
    await shared.publisher.publish('events:task:calc_u1', taskProgress('calc_u1', 3, 100))
    await client.next((m) => m.task_id === 'calc_u1')
    expect(client.events().map((e) => `${e.task_id} ${e.progress}`)).toEqual([
      'calc_u2 1',
      'calc_u1 3',
    ])
  })

  it('marks channels resumed with `since` as not recovered', async () => {
    await gateway()
    const client = await open('?channels=')
    client.send({ type: 'subscribe', channels: ['events:tasks'], since: { 'events:tasks': '1-0' } })
    const acked = (m: Received) => m.type === 'subscribed' && (m.results as unknown[]).length > 0
    expect(await client.next(acked)).toEqual({
      type: 'subscribed',
      results: [{ channel: 'events:tasks', ok: true, recovered: false }],
    })
  })

  it('answers heartbeats', async () => {
    await gateway()
    const client = await open('?channels=')
    client.send({ type: 'heartbeat' })
    const ack = await client.next((m) => m.type === 'heartbeat_ack')
    expect(Date.now() - Date.parse(ack.timestamp as string)).toBeLessThan(5_000)
  })

  it('refuses more channels than MAX_SUBSCRIPTIONS_PER_CONNECTION', async () => {
    await gateway({ MAX_SUBSCRIPTIONS_PER_CONNECTION: '2' })
    const client = await open('?channels=events:tasks,events:system,events:market')
    expect(client.received[1]).toEqual({
      type: 'subscribed',
      results: [
        { channel: 'events:tasks', ok: true },
        { channel: 'events:system', ok: true },
        {
          channel: 'events:market',
          ok: false,
          code: 'too_many_subscriptions',
          message: 'at most 2 channels per connection',
        },
      ],
    })
  })

  it('answers invalid frames with error frames and closes on the tenth (MAX_INVALID_FRAMES)', async () => {
    await gateway()
    const client = await open('?channels=')
    const frames: Array<[frame: string | Buffer, message: string]> = [
      ['garbage', 'not valid JSON'],
      ['[1,2]', 'frame must be a JSON object'],
      ['{"channels":[]}', 'frame has no string "type"'],
      ['{"type":"nope"}', 'unknown type "nope"'],
      ['{"type":"subscribe","channels":"events:tasks"}', 'subscribe /channels: Expected array'],
      [
        '{"type":"subscribe","channels":[]}',
        'subscribe /channels: Expected array length to be greater or equal to 1',
      ],
      [Buffer.from('{"type":"heartbeat"}'), 'binary frames are not accepted'],
    ]
    for (const [frame] of frames) client.ws.send(frame, { binary: Buffer.isBuffer(frame) })
    await until(() => client.received.length === 2 + frames.length, 'error frames')
    expect(client.received.slice(2)).toEqual(
      frames.map(([, message]) => ({
        type: 'error',
        code: message.startsWith('unknown type') ? 'unknown_type' : 'invalid_frame',
        message,
      })),
    )
    for (let i = frames.length; i < MAX_INVALID_FRAMES; i++) client.send('garbage')
    expect(await client.closed).toEqual({
      code: CloseCode.PROTOCOL_VIOLATION,
      reason: 'too many invalid frames',
    })
  })

  it('closes a connection sending subscribe frames faster than SUBSCRIBE_RATE with RATE_LIMITED', async () => {
    await gateway({ SUBSCRIBE_RATE: '0.5', SUBSCRIBE_BURST: '3' })
    // The query's channels took one frame of the burst.
    const client = await open('?channels=')
    for (const id of [1, 2]) {
      client.send({ type: 'unsubscribe', id, channels: ['events:tasks'] })
      await client.next((m) => m.id === id)
    }
    client.send({ type: 'unsubscribe', id: 3, channels: ['events:tasks'] })
    expect(await client.closed).toEqual({
      code: CloseCode.RATE_LIMITED,
      reason: 'subscribe frames too fast',
    })
    expect(client.received.some((m) => m.id === 3)).toBe(false)
  })

  it('closes a connection with more than MAX_QUEUED_SUBSCRIBES waiting with RATE_LIMITED', async () => {
    await gateway({ MAX_QUEUED_SUBSCRIBES: '1', SUBSCRIBE_BURST: '100' })
    const client = await open('?channels=')
    // One frame in progress (a join waits for Redis), one waiting, one too many.
    const frame = (i: number) =>
      JSON.stringify({ type: 'subscribe', channels: [`events:task:q${i}`] })
    // One TCP write, so that all three arrive while the first join is still running.
    const socket = (client.ws as unknown as { _socket: Socket })._socket
    socket.cork()
    for (const i of [1, 2, 3]) client.ws.send(frame(i))
    socket.uncork()
    expect(await client.closed).toEqual({
      code: CloseCode.RATE_LIMITED,
      reason: 'too many subscribe frames waiting',
    })
    await until(() => test.gateway.stats().channels['events:task:q1'] === undefined, 'q1 left')
    expect(test.gateway.stats()).toMatchObject({ channels: {}, queued_subscribes: 0 })
  })

  it('closes with 1009 on a frame over MAX_PAYLOAD_BYTES', async () => {
    await gateway({ MAX_PAYLOAD_BYTES: '1024' })
    const client = await open('?channels=')
    client.send({ type: 'subscribe', channels: ['x'.repeat(2_000)] })
    expect((await client.closed).code).toBe(1009)
    await until(() => test.gateway.stats().closes_by_code['1009'] === 1, 'close counted')
  })

  it('wraps the events of one tick in batch frames for ?batch=1', async () => {
    await gateway()
    const client = await open('?channels=events:task:calc_b&batch=1')
    expect(client.received[0]).toMatchObject({ type: 'connected', batch: true })
    const events = [1, 2, 3].map((value) => taskProgress('calc_b', value, 100))
    await Promise.all(events.map((event) => shared.publisher.publish('events:task:calc_b', event)))
    await until(() => batchedEvents(client).length === 3, 'batched events')
    expect(batchedEvents(client)).toEqual(events)
    for (const message of client.received) {
      expect(parseServerMessage(JSON.stringify(message)).ok).toBe(true)
    }
  })

  it('drops invalid events from Redis and counts them', async () => {
    await gateway()
    const client = await open('?channels=events:task:calc_d,events:indicators')
    await shared.publisher.publish('events:task:calc_d', 'not json')
    await shared.publisher.publish('events:task:calc_d', '{"event_type":"task.progress"}')
    await shared.publisher.publish('events:indicators', taskProgress('calc_d', 1, 100))
    const valid = taskProgress('calc_d', 2, 100)
    await shared.publisher.publish('events:task:calc_d', valid)
    await client.next((m) => m.progress === 2)
    expect(client.events()).toEqual([valid])
    expect(test.gateway.stats()).toMatchObject({
      messages: { received: 4, sent: 1, dropped: 3 },
      dropped_by_reason: { invalid_event: 2, wrong_channel: 1 },
    })
  })

  it('refuses origins outside ALLOWED_ORIGINS with FORBIDDEN_ORIGIN', async () => {
    await gateway({ ALLOWED_ORIGINS: 'https://app.example,http://localhost:5173' })
    const refused = new TestClient(test.wsUrl(), { origin: 'https://evil.example' })
    expect(await refused.closed).toEqual({
      code: CloseCode.FORBIDDEN_ORIGIN,
      reason: 'origin not allowed',
    })
    await open('', { origin: 'http://localhost:5173' })
    await open()
    expect(test.gateway.stats().connections).toBe(2)
  })

  it('closes connections beyond MAX_CONNECTIONS with SERVER_FULL', async () => {
    await gateway({ MAX_CONNECTIONS: '1' })
    await open()
    const refused = new TestClient(test.wsUrl())
    expect(await refused.closed).toEqual({ code: CloseCode.SERVER_FULL, reason: 'server full' })
  })

  it('unsubscribes Redis when the last client of a channel leaves', async () => {
    await gateway()
    const a = await open('?channels=events:task:calc_l')
    const b = await open('?channels=events:task:calc_l')
    expect(
      await shared.publisher.publish('events:task:calc_l', taskProgress('calc_l', 1, 100)),
    ).toBe(1)
    await a.close()
    expect(
      await shared.publisher.publish('events:task:calc_l', taskProgress('calc_l', 2, 100)),
    ).toBe(1)
    await b.close()
    await until(
      async () =>
        (await shared.publisher.publish('events:task:calc_l', taskProgress('calc_l', 3, 100))) ===
        0,
      'redis unsubscribed',
    )
    expect(test.gateway.stats().channels).toEqual({})
  })
})

function batchedEvents(client: TestClient): StockPulseEvent[] {
  return client.received
    .filter((m) => m.type === 'batch')
    .flatMap((m) => m.events as StockPulseEvent[])
}
