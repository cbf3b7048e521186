import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { freePort, type RedisServer, startRedisServer, until } from '@stockpulse/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const STOCKS = 300

describe('main', () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedisServer()
  })
  afterAll(() => redis.stop())

  it.each([
    [
      'memory',
      () => `redis://127.0.0.1:${redis.port + 1}`,
      /no Redis at redis:\/\/127\.0\.0\.1:\d+; running gateway and worker in one process over an in-process bus/,
    ],
    ['redis', () => redis.url, /\(redis mode\)/],
  ])(
    'runs the demo job end to end in %s mode and stops on SIGTERM',
    async (mode, redisUrl, banner) => {
      const port = await freePort()
      const demo = spawn(process.execPath, [main], {
        env: {
          ...process.env,
          PORT: String(port),
          HOST: '127.0.0.1',
          REDIS_URL: redisUrl(),
          WORKER_STOCKS: String(STOCKS),
          WORKER_PACE: '100',
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      })
      try {
        const stderr = collect(demo)
        await until(
          () => stderr.text.includes(`dashboard at http://localhost:${port}/ (${mode} mode)`),
          'the dashboard line',
          20_000,
        )
        expect(stderr.text).toMatch(banner)

        const completed = await nextTaskCompleted(port)
        expect(completed.result.success + completed.result.failed).toBe(STOCKS)

        const page = await fetch(`http://127.0.0.1:${port}/`)
        expect(page.status).toBe(200)
        expect(await page.text()).toContain('<div id="app">')

        demo.kill('SIGTERM')
        const [code] = await once(demo, 'exit')
        expect(code).toBe(0)
      } finally {
        if (demo.exitCode === null && demo.pid) process.kill(-demo.pid, 'SIGKILL')
      }
    },
  )
})

describe('main, configuration', () => {
  it('exits 2 naming the variable when REDIS_URL is not a Redis URL', async () => {
    const demo = spawn(process.execPath, [main], {
      env: { ...process.env, REDIS_URL: 'http://cache:6379' },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    const stderr = collect(demo)
    // 'close': the process has exited and its stderr is read to the end.
    const [code] = await once(demo, 'close')
    expect({ code, stderr: stderr.text }).toEqual({
      code: 2,
      stderr:
        'stockpulse: REDIS_URL must be a redis:// or rediss:// URL, got "http://cache:6379"\n',
    })
  })
})

interface Completed {
  result: { success: number; failed: number }
}

/** Connects like the seed's examples and waits for the demo task to complete. */
async function nextTaskCompleted(port: number): Promise<Completed> {
  let socket: WebSocket | undefined
  const deadline = Date.now() + 20_000
  while (!socket) {
    const candidate = new WebSocket(`ws://127.0.0.1:${port}/ws/events?channels=events:tasks`)
    try {
      await once(candidate, 'open')
      socket = candidate
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  const open = socket
  try {
    return await new Promise<Completed>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no task.completed within 30 s')), 30_000)
      open.on('message', (data) => {
        const event = JSON.parse(String(data))
        if (event.event_type === 'task.completed') {
          clearTimeout(timer)
          resolve(event)
        }
      })
    })
  } finally {
    open.close()
  }
}

function collect(child: ChildProcess): { text: string } {
  const out = { text: '' }
  child.stderr?.on('data', (chunk) => {
    out.text += String(chunk)
  })
  return out
}
