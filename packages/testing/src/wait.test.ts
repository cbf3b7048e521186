import { once } from 'node:events'
import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { freePort } from './redis-server.js'
import { until, waitForPort } from './wait.js'

describe('wait', () => {
  it('resolves once the condition holds and names what timed out', async () => {
    let calls = 0
    await until(() => ++calls === 3, 'the third call')
    expect(calls).toBe(3)
    await expect(until(() => false, 'never', 30)).rejects.toThrow('timed out waiting for never')
  })

  it('waits for a port to listen', async () => {
    const port = await freePort()
    await expect(waitForPort(port, 30)).rejects.toThrow(
      `timed out waiting for 127.0.0.1:${port} to listen`,
    )
    const server = createServer().listen(port, '127.0.0.1')
    await once(server, 'listening')
    await waitForPort(port, 1_000)
    server.close()
  })
})
