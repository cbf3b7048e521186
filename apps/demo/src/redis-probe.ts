import { createClient } from 'redis'

/** Whether a Redis server answers PING at `url` within `timeoutMs`; never throws, never retries. */
export async function redisAnswers(url: string, timeoutMs: number): Promise<boolean> {
  const client = createClient({
    url,
    socket: { connectTimeout: timeoutMs, reconnectStrategy: false },
    disableOfflineQueue: true,
  })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    if (client.isOpen) client.destroy()
  }
}
