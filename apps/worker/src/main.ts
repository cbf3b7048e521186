#!/usr/bin/env node
import { parseConfig, type WorkerConfig } from './config.js'
import { ConfigError } from './errors.js'
import { createLogger } from './logger.js'
import { usage } from './options.js'
import { createProgressBar, createProgressLog } from './progress-bar.js'
import { createRedisBus, createRedisClient, waitForRedis } from './redis.js'
import { createWorkerService, type WorkerService } from './service.js'

// How long start-up waits for Redis before running without it.
const REDIS_GRACE_MS = 2_000
const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const
type Signal = keyof typeof SIGNAL_EXIT_CODES

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage())
    return 0
  }
  let config: WorkerConfig
  try {
    config = parseConfig(argv, process.env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`stockpulse-worker: ${error.message}\n`)
    return 2
  }
  const logger = createLogger(config.logLevel)
  const redis = createRedisClient(config.redisUrl, logger)
  redis.connect().catch(() => {})
  const bus = createRedisBus(redis)
  const service = createWorkerService({ config, bus, redis, logger })
  service.warmUp()
  await waitForRedis(redis, REDIS_GRACE_MS)
  try {
    return config.command === 'run' ? await run(config, service) : await serve(service)
  } finally {
    await service.stop('exit')
    bus.close()
    redis.destroy()
  }

  async function run(config: WorkerConfig, service: WorkerService): Promise<number> {
    const reporter = process.stderr.isTTY
      ? createProgressBar(process.stderr)
      : createProgressLog(logger)
    let received: Signal | undefined
    const stop = (signal: Signal) => {
      received = signal
      void service.stop(signal)
    }
    process.once('SIGINT', stop).once('SIGTERM', stop)
    const { taskId, date, out } = config.run
    const summary = await service
      .runTask(
        { ...(taskId ? { taskId } : {}), ...(date ? { date } : {}), ...(out ? { out } : {}) },
        (progress) => reporter.update(progress),
      )
      .catch((error: unknown) => {
        logger.fatal({ err: error }, 'task could not start')
        return undefined
      })
    reporter.done()
    if (!summary) return 1
    if (config.run.json) process.stdout.write(`${JSON.stringify(summary)}\n`)
    if (summary.status === 'failed') return 1
    return summary.status === 'cancelled' && received ? SIGNAL_EXIT_CODES[received] : 0
  }

  async function serve(service: WorkerService): Promise<number> {
    service.start()
    const signal = await new Promise<Signal>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT')).once('SIGTERM', () => resolve('SIGTERM'))
    })
    logger.info({ signal }, 'stopping')
    await service.stop(signal)
    logger.info('stopped')
    return 0
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`stockpulse-worker: ${(error as Error).stack ?? String(error)}\n`)
    process.exitCode = 1
  },
)
