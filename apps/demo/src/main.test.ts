import { once } from 'node:events'
import { existsSync, realpathSync } from 'node:fs'
import { createServer } from 'node:net'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  freePort,
  type NodeProcess,
  type RedisServer,
  startNode,
  startRedisServer,
  waitForPort,
} from '@stockpulse/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const root = fileURLToPath(new URL('../../..', import.meta.url))
const STOCKS = 300

describe('main', () => {
  let redis: RedisServer
  const started: NodeProcess[] = []
  beforeAll(async () => {
    redis = await startRedisServer()
  })
  afterEach(async () => {
    // A failed test must not leave a demo (and its services) running.
    for (const demo of started.splice(0)) await demo.stop()
  })
  afterAll(() => redis.stop())

  const env = (redisUrl: string, port: number) => ({
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    REDIS_URL: redisUrl,
    WORKER_STOCKS: String(STOCKS),
    WORKER_PACE: '100',
    LOG_LEVEL: 'warn',
  })
  const demo = (redisUrl: string, port: number) => {
    const child = startNode(main, [], { env: env(redisUrl, port), detached: true })
    started.push(child)
    return child
  }
  const noRedis = async () => `redis://127.0.0.1:${await freePort()}`

  it.each([
    [
      'memory',
      noRedis,
      /no Redis at redis:\/\/127\.0\.0\.1:\d+; running gateway and worker in one process over an in-process bus/,
    ],
    ['redis', async () => redis.url, /\(redis mode\)/],
  ])(
    'runs the demo job end to end in %s mode and stops cleanly on SIGTERM',
    async (mode, url, banner) => {
      const port = await freePort()
      const running = demo(await url(), port)
      await running.waitFor(
        `dashboard at http://localhost:${port}/ (${mode} mode)`,
        'the dashboard line',
      )
      expect(running.stderr).toMatch(banner)
      await waitForPort(port, 20_000)

      const completed = await nextTaskCompleted(port)
      expect(completed.result.success + completed.result.failed).toBe(STOCKS)
      const page = await fetch(`http://127.0.0.1:${port}/`)
      expect(page.status).toBe(200)
      expect(await page.text()).toContain('<div id="app">')

      running.kill('SIGTERM')
      await running.expectExit(0)
      expect(running.stderr).toContain('stockpulse: stopping (SIGTERM)\nstockpulse: stopped\n')
    },
  )

  it.each([
    ['memory', noRedis],
    ['redis', async () => redis.url],
  ])(
    'stops with exit 0 on a Ctrl-C (SIGINT to its whole process group) in %s mode',
    async (mode, url) => {
      const port = await freePort()
      const running = demo(await url(), port)
      await running.waitFor(`(${mode} mode)`, 'the dashboard line')
      await waitForPort(port, 20_000)
      process.kill(-running.child.pid!, 'SIGINT')
      await running.expectExit(0)
      expect(running.stderr).toContain('stockpulse: stopping (SIGINT)\nstockpulse: stopped\n')
    },
  )

  it('fails, naming the service, when one of them dies (the port is taken)', async () => {
    const taken = createServer().listen(0, '127.0.0.1')
    await once(taken, 'listening')
    const port = (taken.address() as { port: number }).port
    try {
      const running = demo(redis.url, port)
      await running.expectExit(1)
      expect(running.stderr).toContain('stockpulse: the gateway exited with code 1\n')
      expect(running.stderr).toContain('stockpulse: stopped with exit code 1\n')
    } finally {
      taken.close()
    }
  })

  it('pnpm start: a Ctrl-C ends it with exit 0 and no ELIFECYCLE', async () => {
    const port = await freePort()
    const pnpm = startNode(pnpmBin(), ['start'], {
      env: env(await noRedis(), port),
      cwd: root,
      detached: true,
    })
    started.push(pnpm)
    await pnpm.waitFor('(memory mode)', 'the dashboard line', 60_000)
    await waitForPort(port, 20_000)
    process.kill(-pnpm.child.pid!, 'SIGINT')
    await pnpm.expectExit(0)
    expect(pnpm.stderr).toContain('stockpulse: stopped\n')
    expect(pnpm.stdout + pnpm.stderr).not.toContain('ELIFECYCLE')
  })
})

describe('main, configuration', () => {
  it('exits 2 naming the variable when REDIS_URL is not a Redis URL', async () => {
    const running = startNode(main, [], { env: { ...process.env, REDIS_URL: 'http://cache:6379' } })
    await running.expectExit(2)
    expect(running.stderr).toBe(
      'stockpulse: REDIS_URL must be a redis:// or rediss:// URL, got "http://cache:6379"\n',
    )
  })
})

interface Completed {
  result: { success: number; failed: number }
}

/** Connects like the seed's examples and waits for the demo task to complete. */
async function nextTaskCompleted(port: number): Promise<Completed> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws/events?channels=events:tasks`)
  try {
    return await new Promise<Completed>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no task.completed within 30 s')), 30_000)
      socket.on('error', reject)
      socket.on('message', (data) => {
        const event = JSON.parse(String(data))
        if (event.event_type === 'task.completed') {
          clearTimeout(timer)
          resolve(event)
        }
      })
    })
  } finally {
    socket.close()
  }
}

/** The script behind the `pnpm` on the PATH (a Node.js file: npm links it into a bin folder). */
function pnpmBin(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'pnpm')
    if (existsSync(candidate)) return realpathSync(candidate)
  }
  throw new Error('pnpm is not on the PATH')
}
