import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { CloseCode } from '@stockpulse/events'
import { until } from '@stockpulse/testing'
import { describe, expect, it } from 'vitest'
import { TestClient } from '../../src/test-support/gateway.js'
import { expectWholeJobDelivered, withGateway } from './support.js'

// Finding 10: upgrade requests that send one header line every 5 s were held 60 s each, and did
// not count against MAX_CONNECTIONS.

const MAX_CONNECTIONS = 6
/** Half-open requests: with the bystander, the gateway is full. */
const TRICKLERS = MAX_CONNECTIONS - 1

const target = withGateway(() => ({
  env: { MAX_CONNECTIONS: String(MAX_CONNECTIONS), UPGRADE_TIMEOUT_S: '2' },
}))

describe('abuse: upgrade requests that never finish their headers', () => {
  it('counts them against MAX_CONNECTIONS and cuts them after UPGRADE_TIMEOUT_S', async () => {
    const bystander = await TestClient.open(
      target.gateway.wsUrl('?channels=events:tasks,events:indicators'),
    )
    // Taken before they connect: the gateway's clock for each starts when it accepts it.
    const started = Date.now()
    const tricklers = await Promise.all(
      Array.from({ length: TRICKLERS }, () => trickle(target.gateway.port)),
    )

    // Full: a new WebSocket is refused with SERVER_FULL while they hang on.
    const refused = new TestClient(target.gateway.wsUrl('?channels=events:tasks'))
    expect(await refused.closed).toEqual({ code: CloseCode.SERVER_FULL, reason: 'server full' })
    await expectWholeJobDelivered(target.publisher, [bystander], 'calc_during_trickle', 100)

    // Cut once their time is up, although they keep sending a header line now and then.
    await Promise.all(tricklers.map(({ closed }) => closed))
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_950)
    for (const { answer } of tricklers) expect(answer()).toMatch(/^(HTTP\/1\.1 408 |$)/)
    // Room again: nothing but the bystander, and this request, is connected.
    await until(
      async () => (await target.gateway.stats()).pending_connections === 1,
      'only the stats request itself to be a pending connection',
    )
    const after = await TestClient.open(
      target.gateway.wsUrl('?channels=events:tasks,events:indicators'),
    )
    await expectWholeJobDelivered(target.publisher, [bystander, after], 'calc_after_trickle', 100)
    await Promise.all([bystander.close(), after.close()])
  })
})

/** A raw TCP client starting a WebSocket upgrade and sending one header line every 200 ms. */
async function trickle(port: number) {
  const socket: Socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  let answer = ''
  socket.on('data', (data) => {
    answer += data.toString()
  })
  socket.on('error', () => {})
  socket.write('GET /ws/events HTTP/1.1\r\nHost: 127.0.0.1\r\n')
  let line = 0
  const timer = setInterval(() => {
    socket.write(`X-Trickle-${line++}: ${'a'.repeat(20)}\r\n`)
  }, 200)
  const closed = once(socket, 'close').then(() => clearInterval(timer))
  return { closed, answer: () => answer }
}
