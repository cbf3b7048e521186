import { setTimeout as delay } from 'node:timers/promises'
import { ConfigError } from '@stockpulse/config'
import { connectInBackground, SIGNAL_EXIT_CODES, type SignalTrap } from '@stockpulse/lifecycle'
import type { Logger } from 'pino'
import { bootsThreads, startComputeThreads } from './compute-threads.js'
import { parseConfig, type WorkerConfig } from './config.js'
import type { Database } from './database.js'
import { createLogger } from './logger.js'
import type { MetricsServer } from './metrics-server.js'
import { usage } from './options.js'
import { createProgressBar, createProgressLog } from './progress-bar.js'
import type { WorkerService } from './service.js'

/** How long start-up waits for Redis before running without it. */
const REDIS_GRACE_MS = 2_000
/** Longest a stop waits for PostgreSQL's connections (a COPY or upsert stuck on a lock holds one). */
const DATABASE_END_DEADLINE_MS = 5_000

/**
 * `stockpulse-worker`: parses the configuration, builds the clients and the service, runs the
 * command and closes everything. Resolves with the exit code: 0, 1 (task failed or could not
 * start; `serve`: the metrics port could not be opened; `submit`/`cancel`: refused or the queue
 * unreachable), 2 (bad configuration), 130/143 (`run` cancelled by SIGINT/SIGTERM; `serve`
 * exits 0).
 */
export async function runCli(argv: readonly string[], signals: SignalTrap): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage())
    return 0
  }
  let config: WorkerConfig
  try {
    config = parseConfig(cancelArgs(argv), process.env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`stockpulse-worker: ${error.message}\n`)
    return 2
  }
  const logger = createLogger(config.logLevel)
  const stopping = () => logger.info({ signal: signals.received }, 'stopping')
  if (signals.signal.aborted) stopping()
  else signals.signal.addEventListener('abort', stopping, { once: true })
  signals.onForce((signal) => {
    logger.warn({ signal, exit_code: SIGNAL_EXIT_CODES[signal] }, 'stopping again: exiting now')
  })

  // What a command does not use is not loaded: PostgreSQL's client only with a database, BullMQ
  // only for `serve`, `submit` and `cancel`, the metrics server only for `serve`.
  if (config.command === 'migrate' || config.command === 'seed-db') {
    const { runDatabaseCommand } = await import('./database-commands.js')
    return runDatabaseCommand(config, logger, { out: process.stdout, err: process.stderr })
  }
  if (config.command === 'submit' || config.command === 'cancel') return control(config)
  // The compute threads boot while the rest of the worker loads (the Redis client, the job,
  // the metrics): on two cores that hides most of their start-up.
  const pool = bootsThreads(config) ? startComputeThreads(config, logger) : undefined
  let modules: [typeof import('./redis.js'), typeof import('./service.js')]
  let database: Database | undefined
  try {
    modules = await Promise.all([import('./redis.js'), import('./service.js')])
    if (config.database) {
      const { createDatabase } = await import('./database.js')
      database = createDatabase(config.database.url, logger, config.job.concurrency + 2)
    }
  } catch (error) {
    await pool?.close()
    throw error
  }
  const [{ createRedisBus, createRedisClient, redactUrl, waitForRedis }, { createWorkerService }] =
    modules
  const redis = createRedisClient(config.redisUrl, logger)
  const connection = connectInBackground(redis)
  const bus = createRedisBus(redis)
  const service = createWorkerService({
    config,
    bus,
    redis,
    ...(database ? { database } : {}),
    ...(pool ? { pool } : {}),
    logger,
  })
  let metricsServer: MetricsServer | undefined
  let code = 1
  try {
    service.warmUp()
    logger.debug({ redis: redactUrl(config.redisUrl) }, 'waiting for redis')
    await waitForRedis(redis, REDIS_GRACE_MS, signals.signal)
    code = config.command === 'run' ? await run(config, service) : await serve(service)
    return code
  } finally {
    await service.stop(signals.received ?? 'exit')
    await metricsServer?.close()
    await Promise.all([bus.close(), connection.close(), database && endDatabase(database, logger)])
    logger.info({ exit_code: code }, 'stopped')
  }

  async function run(config: WorkerConfig, service: WorkerService): Promise<number> {
    const reporter = process.stderr.isTTY
      ? createProgressBar(process.stderr)
      : createProgressLog(logger)
    const { taskId, date, out } = config.run
    const reason = () => `worker shutting down (${signals.received})`
    const cancel = new AbortController()
    const forward = () => cancel.abort(reason())
    if (signals.signal.aborted) forward()
    else signals.signal.addEventListener('abort', forward, { once: true })
    const summary = await service
      .runTask(
        { ...(taskId ? { taskId } : {}), ...(date ? { date } : {}), ...(out ? { out } : {}) },
        { signal: cancel.signal, onProgress: (progress) => reporter.update(progress) },
      )
      .catch((error: unknown) => {
        logger.fatal({ err: error }, 'task could not start')
        return undefined
      })
    reporter.done()
    if (!summary) return 1
    if (config.run.json) process.stdout.write(`${JSON.stringify(summary)}\n`)
    if (summary.status === 'failed') return 1
    const signal = signals.received
    return summary.status === 'cancelled' && signal ? SIGNAL_EXIT_CODES[signal] : 0
  }

  async function serve(service: WorkerService): Promise<number> {
    const metrics = config.serve.metrics
    if (metrics && !signals.signal.aborted) {
      const { createMetricsServer } = await import('./metrics-server.js')
      metricsServer = createMetricsServer({
        registry: service.metrics.registry,
        health: () => {
          const stopping = signals.signal.aborted
          const status = stopping ? 'stopping' : redis.isReady ? 'ok' : 'degraded'
          return { ok: !stopping, body: { status, active_task_id: service.activeTaskId ?? null } }
        },
        logger,
      })
      try {
        await metricsServer.listen(metrics.port, metrics.host)
      } catch (error) {
        logger.fatal({ err: error, port: metrics.port }, 'metrics port could not be opened')
        return 1
      }
    }
    if (!signals.signal.aborted) {
      await service.start()
      // A signal while the queue's modules loaded has already fired.
      if (!signals.signal.aborted) {
        await new Promise((resolve) =>
          signals.signal.addEventListener('abort', resolve, { once: true }),
        )
      }
    }
    return 0
  }
}

/** `cancel <task_id>` reads as `cancel --task-id <task_id>`. */
function cancelArgs(argv: readonly string[]): readonly string[] {
  const [command, id, ...rest] = argv
  if (command !== 'cancel' || id === undefined || id.startsWith('-')) return argv
  return [command, '--task-id', id, ...rest]
}

/** `submit` and `cancel`: one request to the run queue; prints the task id or why it was refused. */
async function control(config: WorkerConfig): Promise<number> {
  const { createRunQueue } = await import('@stockpulse/runs')
  const queue = createRunQueue({ url: config.redisUrl, prefix: config.keyPrefix })
  try {
    let outcome: Awaited<ReturnType<typeof queue.submit>>
    if (config.command === 'cancel') {
      const taskId = config.run.taskId
      if (!taskId) {
        process.stderr.write('stockpulse-worker: cancel needs a task id: cancel <task_id>\n')
        return 2
      }
      outcome = await queue.cancel(taskId, 'cancelled from the command line')
    } else {
      const { pace } = config.job
      outcome = await queue.submit(config.run.request ?? {}, {
        trigger: 'cli',
        ...(pace === undefined ? {} : { pace }),
      })
    }
    if (outcome.status === 202) {
      process.stdout.write(`${outcome.body.task_id}\n`)
      return 0
    }
    process.stderr.write(`stockpulse-worker: ${outcome.body.reason} (${outcome.body.error})\n`)
    return 1
  } finally {
    await queue.close()
  }
}

async function endDatabase(database: Database, logger: Logger): Promise<void> {
  const ended = await Promise.race([
    database.end().then(
      () => true,
      () => true,
    ),
    delay(DATABASE_END_DEADLINE_MS, false, { ref: false }),
  ])
  if (!ended) {
    logger.warn({ deadline_ms: DATABASE_END_DEADLINE_MS }, 'postgres still busy at stop: going on')
  }
}
