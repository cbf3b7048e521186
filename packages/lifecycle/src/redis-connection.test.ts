import { once } from 'node:events'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { type AddressInfo, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, type RedisServer, startNode, startRedisServer } from '@stockpulse/testing'
import { afterAll, beforeAll, describe, it } from 'vitest'

const dist = new URL('../dist/index.js', import.meta.url).href
const redis = new URL(import.meta.resolve('redis')).href

// Connects, waits `delay` ms, closes, and must then exit by itself: a leaked socket keeps it alive.
const program = `
import { createClient } from ${JSON.stringify(redis)}
import { connectInBackground } from ${JSON.stringify(dist)}
const [url, delay] = process.argv.slice(2)
const client = createClient({ url, socket: { reconnectStrategy: (n) => Math.min(20 * 2 ** n, 200) } })
client.on('error', () => {})
const connection = connectInBackground(client)
if (Number(delay) > 0) await new Promise((resolve) => setTimeout(resolve, Number(delay)))
await connection.close()
process.stdout.write('closed\\n')
`

describe('redis-connection', () => {
  let server: RedisServer
  let script: string
  beforeAll(async () => {
    server = await startRedisServer()
    script = join(await mkdtemp(join(tmpdir(), 'stockpulse-lifecycle-')), 'connect.mjs')
    await writeFile(script, program)
  })
  afterAll(() => server.stop())

  // 0 ms: mid-attempt, where a plain destroy() leaks the socket; later: ready, or backing off.
  it.each([0, 1, 5, 50])(
    'closes a client %i ms after connecting to a live Redis, and the process exits',
    async (delay) => {
      await startNode(script, [server.url, String(delay)]).expectExit(0, 15_000)
    },
  )

  it('closes a client connected to a server that never answers', async () => {
    const silent = createServer(() => {}).listen(0, '127.0.0.1')
    await once(silent, 'listening')
    try {
      const { port } = silent.address() as AddressInfo
      await startNode(script, [`redis://127.0.0.1:${port}`, '50']).expectExit(0, 15_000)
    } finally {
      silent.close()
    }
  })

  it.each([0, 30, 300])(
    'closes a client %i ms after connecting to a port nobody listens on',
    async (delay) => {
      const url = `redis://127.0.0.1:${await freePort()}`
      await startNode(script, [url, String(delay)]).expectExit(0, 15_000)
    },
  )
})
