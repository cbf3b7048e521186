import { Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { startRedisServer } from './redis-server.js'

describe('redis-server', () => {
  it('stops answering while paused, and answers again once resumed', async () => {
    const redis = await startRedisServer()
    try {
      redis.pause()
      const reply = ping(redis.port)
      const late = await Promise.race([reply, sleep(300).then(() => 'no reply within 300 ms')])
      expect(late).toBe('no reply within 300 ms')
      redis.resume()
      expect(await reply).toBe('+PONG')
    } finally {
      redis.resume()
      await redis.stop()
    }
  })

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

  it('passes more arguments to redis-server', async () => {
    const redis = await startRedisServer({ args: ['--requirepass', 'sesame'] })
    try {
      expect(await ping(redis.port)).toMatch(/^-NOAUTH/)
    } finally {
      await redis.stop()
    }
  })

  it('starts redis-server through a launcher, with its environment, and says why one failed', async () => {
    const launcher = ['sh', '-c', 'exec redis-server --requirepass "$PASSWORD" "$@"', 'launcher']
    const redis = await startRedisServer({
      launcher,
      env: { PATH: process.env.PATH, PASSWORD: 'x' },
    })
    try {
      expect(await ping(redis.port)).toMatch(/^-NOAUTH/)
    } finally {
      await redis.stop()
    }
    await expect(
      startRedisServer({ launcher: ['sh', '-c', 'echo no password >&2; exit 3', 'launcher'] }),
    ).rejects.toThrow('sh exited (3) before listening: no password')
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
