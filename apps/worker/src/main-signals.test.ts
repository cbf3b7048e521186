import { once } from 'node:events'
import { type AddressInfo, createServer, type Server } from 'node:net'
import { fileURLToPath } from 'node:url'
import { TASKS_ALL } from '@stockpulse/events'
import {
  type NodeProcess,
  type RedisServer,
  startNode,
  startRedisServer,
} from '@stockpulse/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type EventRecorder, recordEvents } from './test-support/events.js'

const bin = fileURLToPath(new URL('../dist/main.js', import.meta.url))
/** How many times the mid-job SIGINT case runs; `pnpm test:stress` raises it to 200. */
const LOOPS = Number(process.env.STOCKPULSE_SIGNAL_LOOPS ?? 2)

// A signal at any moment of a worker's life ends in a logged stop with the documented exit code:
// `run` 130 (SIGINT) / 143 (SIGTERM) after a `cancelled` summary, `serve` 0, and a second signal
// while stopping kills the process at once (a shell shows 130 / 143).
describe('main: signals', () => {
  let redis: RedisServer
  let silent: Server
  let silentUrl: string
  beforeAll(async () => {
    redis = await startRedisServer()
    // Accepts connections and never answers: start-up waits out its grace for Redis.
    silent = createServer(() => {}).listen(0, '127.0.0.1')
    await once(silent, 'listening')
    silentUrl = `redis://127.0.0.1:${(silent.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    silent.close()
    await redis.stop()
  })

  const worker = (args: string[], redisUrl = redis.url) =>
    startNode(bin, args, {
      env: { ...process.env, REDIS_URL: redisUrl, LOG_LEVEL: 'debug', WORKER_CACHE_TTL_S: '0' },
    })
  const run = (...args: string[]) => ['run', '--json', '--stocks', '5000', ...args]

  it.each([
    [
      'run',
      'while 8 compute threads start',
      run('--concurrency', '8'),
      '"msg":"compute threads starting"',
      'SIGINT',
      130,
    ],
    ['run', 'mid-job on 2 threads', run('--concurrency', '2'), '"msg":"progress"', 'SIGINT', 130],
    ['run', 'mid-job on 8 threads', run('--concurrency', '8'), '"msg":"progress"', 'SIGTERM', 143],
    [
      'serve',
      'while its threads start',
      ['serve'],
      '"msg":"compute threads starting"',
      'SIGTERM',
      0,
    ],
    ['serve', 'idle', ['serve'], '"msg":"worker serving"', 'SIGINT', 0],
    [
      'serve',
      'mid-job',
      ['serve', '--demo', '--stocks', '3000', '--pace', '1000', '--key-prefix', 'signals:'],
      '"msg":"run started"',
      'SIGTERM',
      0,
    ],
  ] as const)('%s: %s, %s ends it cleanly', async (command, _when, args, after, signal, code) => {
    const process = worker([...args, '--days', '2500'])
    await process.waitFor(after, `the line ${after}`)
    process.kill(signal)
    await process.expectExit(code)
    expectStopped(process, signal, code)
    if (command === 'run') {
      expect(JSON.parse(process.stdout)).toMatchObject({
        status: 'cancelled',
        message: `cancelled: worker shutting down (${signal})`,
      })
    }
  })

  it('run: SIGTERM during the wait for Redis cancels the task before it starts', async () => {
    const process = worker(run(), silentUrl)
    await process.waitFor('"msg":"waiting for redis"', 'the wait for Redis')
    process.kill('SIGTERM')
    await process.expectExit(143)
    expectStopped(process, 'SIGTERM', 143)
    expect(JSON.parse(process.stdout)).toMatchObject({ status: 'cancelled', processed: 0 })
  })

  it.each([
    ['run', run('--concurrency', '2', '--pace', '500')],
    ['serve', ['serve', '--demo', '--stocks', '3000', '--pace', '500']],
  ])('%s: a second signal while stopping kills the process at once', async (_command, args) => {
    const paused = await startRedisServer()
    let recorder: EventRecorder | undefined
    try {
      recorder = await recordEvents(paused.url, [TASKS_ALL])
      const process = worker([...args], paused.url)
      const events = recorder
      await events.until(() => events.received.length >= 2, 'the task to publish')
      // A Redis that answers nothing: stopping waits for the events in flight to be answered.
      paused.pause()
      process.kill('SIGINT')
      await process.waitFor('"msg":"stopping"', 'the first stop')
      process.kill('SIGTERM')
      await process.expectExit('SIGTERM')
      expect(messages(process)).toEqual(
        expect.arrayContaining(['stopping', 'stopping again: exiting now']),
      )
      expect(messages(process)).not.toContain('stopped')
    } finally {
      paused.resume()
      await recorder?.close()
      await paused.stop()
    }
  })

  it(
    `run: ${LOOPS} SIGINTs mid-job on 8 threads never abort the process`,
    async () => {
      for (let i = 0; i < LOOPS; i++) {
        const process = worker(run('--concurrency', '8', '--days', '2500'))
        await process.waitFor('"msg":"progress"', `the job to be under way (loop ${i})`)
        process.kill('SIGINT')
        await process.expectExit(130)
        expectStopped(process, 'SIGINT', 130)
      }
      // Each loop starts a worker with 8 threads: up to 15 s each on a loaded machine.
    },
    LOOPS * 15_000,
  )
})

/** The log lines of the stop: `stopping` with the signal, then `stopped` with the exit code. */
function expectStopped(process: NodeProcess, signal: string, code: number): void {
  const logs = process.stderr
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { msg: string; signal?: string; exit_code?: number })
  expect(logs.find((log) => log.msg === 'stopping')).toMatchObject({ signal })
  expect(logs.at(-1)).toMatchObject({ msg: 'stopped', exit_code: code })
}

function messages(process: NodeProcess): string[] {
  return process.stderr
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { msg: string }).msg)
}
