import type { Logger } from 'pino'
import type { WorkerConfig } from './config.js'
import { type ComputePool, createThreadPool } from './executor.js'
import { DEFAULT_STOCKS } from './job-source.js'

/** Smaller universes compute on the main thread: starting threads would cost more than it saves. */
export const POOL_MIN_STOCKS = 500

/**
 * Whether the compute threads are booted ahead of the first task: with 2 or more of them, unless
 * the configured universe is synthetic and small.
 */
export function bootsThreads(config: WorkerConfig): boolean {
  const small =
    config.job.source === 'synthetic' && (config.job.stocks ?? DEFAULT_STOCKS) < POOL_MIN_STOCKS
  return config.job.concurrency >= 2 && !small
}

/** Starts `--concurrency` compute threads (`threadUrl`: the compiled entry, for tests from source). */
export function startComputeThreads(
  config: WorkerConfig,
  logger: Logger,
  threadUrl?: URL,
): ComputePool {
  logger.debug({ threads: config.job.concurrency }, 'compute threads starting')
  return createThreadPool({ threads: config.job.concurrency, ...(threadUrl ? { threadUrl } : {}) })
}
