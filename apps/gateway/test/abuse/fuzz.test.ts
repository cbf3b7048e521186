import { isEventAllowedOn, isEventBoundTo, parseChannel, parseEvent } from '@stockpulse/events'
import { until } from '@stockpulse/testing'
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { jobMessages, stockEvent, taskProgress } from '../../bench/job.js'
import { TestClient } from '../../src/test-support/gateway.js'
import { withGateway } from './support.js'

// Random client frames and random Redis payloads thrown at a running gateway for a bounded time.
// Reproduce a failure with FUZZ_SEED=<the seed in the test name>.

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_129)
const DURATION_MS = 5_000
const FUZZERS = 6
/** The bystander's channels: only payloads the contract drops are published there. */
const WATCHED = ['events:tasks', 'events:indicators']

const target = withGateway(() => ({ env: { MAX_PAYLOAD_BYTES: '4096' } }))

describe('abuse: fuzz', () => {
  it(`survives random frames and Redis payloads (seed ${SEED})`, async () => {
    const random = mulberry32(SEED)
    const bystander = await TestClient.open(target.gateway.wsUrl(`?channels=${WATCHED.join(',')}`))
    const deadline = Date.now() + DURATION_MS
    const job = jobMessages('calc_fuzz', 300)
    let delivered = 0
    const counts = { frames: 0, payloads: 0, connections: 0 }

    const clients = Array.from({ length: FUZZERS }, async () => {
      while (Date.now() < deadline) {
        counts.connections++
        await fuzzClient(random, deadline, () => counts.frames++)
      }
    })
    const payloads = (async () => {
      while (Date.now() < deadline) {
        // The job goes out among the garbage, in order.
        if (delivered < job.length && random() < 0.3) {
          const { channel, text } = job[delivered++]!
          await target.publisher.publish(channel, text)
        }
        const [channel, text] = payload(random)
        counts.payloads++
        await target.publisher.publish(channel, text)
      }
    })()
    await Promise.all([...clients, payloads])
    for (; delivered < job.length; delivered++) {
      await target.publisher.publish(job[delivered]!.channel, job[delivered]!.text)
    }

    expect(target.gateway.process.child.exitCode, target.gateway.output()).toBeNull()
    expect((await target.gateway.get('/healthz')).status).toBe(200)
    await until(
      () => bystander.events().length >= job.length,
      `the bystander to get the whole job (got ${bystander.events().length} of ${job.length})`,
      15_000,
    )
    expect(bystander.events()).toEqual(job.map(({ text }) => JSON.parse(text)))
    expect(bystander.ws.readyState).toBe(WebSocket.OPEN)
    await until(
      async () => (await target.gateway.stats()).connections === 1,
      'every fuzzing client to be gone',
      10_000,
    )
    const stats = await target.gateway.stats()
    expect(stats).toMatchObject({ queued_subscribes: 0, held_events: 0 })
    expect(stats.bridge.state).toBe('ready')
    expect(counts.frames).toBeGreaterThan(100)
    expect(counts.payloads).toBeGreaterThan(100)
    await bystander.close()
  })
})

// ---- Clients ----

/** One connection sending random frames until it is closed or the time is up. */
async function fuzzClient(random: () => number, deadline: number, sent: () => void): Promise<void> {
  const query = random() < 0.5 ? `?channels=${pick(random, CHANNEL_NAMES)}` : '?channels='
  const ws = new WebSocket(target.gateway.wsUrl(query))
  ws.on('error', () => {})
  ws.on('message', () => {})
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()))
  await Promise.race([new Promise((resolve) => ws.once('open', resolve)), closed])
  while (ws.readyState === WebSocket.OPEN && Date.now() < deadline) {
    const roll = random()
    if (roll < 0.02) {
      ws.terminate()
      break
    }
    if (roll < 0.06) ws.send(Buffer.from(randomBytes(random, 1 + Math.floor(random() * 64))))
    else ws.send(frame(random))
    sent()
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 20)))
  }
  if (ws.readyState === WebSocket.OPEN) ws.close()
  await closed
}

const CHANNEL_NAMES = [
  'events:tasks',
  'events:indicators',
  'events:market',
  'events:system',
  'events:task:calc_fuzz',
  'events:task:calc_other',
  'events:market:000001',
  'events:user:alice',
  'events:*',
  'events:task:*',
  'constructor',
  '__proto__',
  'toString',
  '',
  'x'.repeat(300),
  'events:task:a b',
  'commands:worker',
]

function frame(random: () => number): string {
  const channels = () =>
    Array.from({ length: Math.floor(random() * 5) }, () => pick(random, CHANNEL_NAMES))
  switch (Math.floor(random() * 9)) {
    case 0:
      return JSON.stringify({ type: 'heartbeat' })
    case 1:
      return JSON.stringify({
        type: 'subscribe',
        channels: channels(),
        id: Math.floor(random() * 1e6),
      })
    case 2: {
      const since = Object.fromEntries(channels().map((c) => [c, position(random)]))
      return JSON.stringify({ type: 'subscribe', channels: channels(), since })
    }
    case 3:
      return JSON.stringify({ type: 'unsubscribe', channels: channels() })
    case 4:
      return JSON.stringify({
        type: pick(random, ['subscribe', 'nope', '__proto__', 7]),
        channels: 'x',
      })
    case 5:
      return JSON.stringify(randomValue(random, 3))
    case 6:
      return `{"type":"subscribe","channels":["${'a'.repeat(5_000)}"]}`
    case 7:
      return '{"type":"subscribe","__proto__":{"channels":["events:tasks"]}}'
    default:
      return randomText(random, Math.floor(random() * 200))
  }
}

function position(random: () => number): unknown {
  return pick(random, [
    '0:0-1',
    'zzz:1-1',
    `e${Math.floor(random() * 1e9)}:${Math.floor(random() * 1e15)}-${Math.floor(random() * 10)}`,
    '99999999999999999999:18446744073709551615-18446744073709551615',
    'not a position',
    42,
    null,
  ])
}

// ---- Redis payloads ----

/** A channel and a payload; on the watched channels, always one the contract drops. */
function payload(random: () => number): [string, string] {
  const channel = pick(random, [
    ...WATCHED,
    ...CHANNEL_NAMES,
    'events:user:bob',
    'events:market:000002',
  ])
  for (;;) {
    const text = candidate(random)
    if (!WATCHED.includes(channel) || !delivers(channel, text)) return [channel, text]
  }
}

function candidate(random: () => number): string {
  const base =
    random() < 0.5
      ? stockEvent('calc_fuzz', 1 + Math.floor(random() * 9_999))
      : taskProgress('calc_fuzz', 1, 10)
  const event: Record<string, unknown> = { ...base }
  switch (Math.floor(random() * 8)) {
    case 0:
      delete event[pick(random, Object.keys(event))]
      break
    case 1:
      event[pick(random, Object.keys(event))] = randomValue(random, 2)
      break
    case 2:
      event.task_id = pick(random, ['calc_other', '', 'a b', 'x'.repeat(70)])
      break
    case 3:
      return randomText(random, Math.floor(random() * 300))
    case 4:
      return JSON.stringify(event).slice(0, Math.floor(random() * 100))
    case 5:
      event.padding = 'x'.repeat(70_000)
      break
    case 6:
      event.event_type = pick(random, ['user.notification', 'system.heartbeat', 'constructor'])
      break
    default:
      event.position = position(random)
  }
  return JSON.stringify(event)
}

/** Whether the gateway forwards `text` on `channel`, by the contract. */
function delivers(channel: string, text: string): boolean {
  const parsed = parseChannel(channel)
  const event = parseEvent(text)
  return (
    parsed.ok &&
    event.ok &&
    Buffer.byteLength(text) <= 65_536 &&
    isEventAllowedOn(parsed.channel.kind, event.value.event_type) &&
    isEventBoundTo(parsed.channel, event.value)
  )
}

// ---- Randomness ----

/** A small seeded PRNG (mulberry32): the same seed, the same run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!
}

function randomValue(random: () => number, depth: number): unknown {
  const roll = Math.floor(random() * (depth > 0 ? 8 : 6))
  switch (roll) {
    case 0:
      return null
    case 1:
      return random() < 0.5
    case 2:
      return Math.floor(random() * 2e9) - 1e9
    case 3:
      return random() * 1e308
    case 4:
      return randomText(random, Math.floor(random() * 40))
    case 5:
      return pick(random, ['__proto__', 'constructor', '', '\u0000', '\ud800'])
    case 6:
      return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(random, depth - 1))
    default:
      return Object.fromEntries(
        Array.from({ length: Math.floor(random() * 4) }, () => [
          pick(random, ['type', 'channels', 'since', 'id', '__proto__', 'x']),
          randomValue(random, depth - 1),
        ]),
      )
  }
}

function randomText(random: () => number, length: number): string {
  return Array.from({ length }, () => String.fromCharCode(Math.floor(random() * 0xffff))).join('')
}

function randomBytes(random: () => number, length: number): number[] {
  return Array.from({ length }, () => Math.floor(random() * 256))
}
