import { Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { startRedisServer } from './redis-server.js'

describe('redis-server', () => {
  it('starts, answers PING, dies on kill and comes back empty on start', async () => {
    const redis = await startRedisServer()
    try {
      expect(await ping(redis.port)).toBe('+PONG')
      await redis.kill()
      await expect(ping(redis.port)).rejects.toThrow(/ECONNREFUSED/)
      await redis.start()
      expect(await ping(redis.port)).toBe('+PONG')
    } finally {
      await redis.stop()
    }
  })
})

function ping(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new Socket()
    socket.once('error', reject)
    socket.once('data', (data) => {
      socket.destroy()
      resolve(data.toString().trim())
    })
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'))
  })
}
