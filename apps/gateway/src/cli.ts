import type { SignalTrap } from '@stockpulse/lifecycle'
import { createRunQueue } from '@stockpulse/runs'
import { type GatewayConfig, loadConfig } from './config.js'
import { ConfigError } from './errors.js'
import { createGateway } from './gateway.js'
import { createLogger } from './logger.js'
import { createRedisBridge } from './redis-bridge.js'
import { createStoredValuesReader } from './stored-values.js'

/** Longest a shutdown may take before the process exits anyway, with code 1. */
const SHUTDOWN_DEADLINE_MS = 4_500

/**
 * `stockpulse-gateway`: reads the configuration, listens, and on SIGTERM/SIGINT closes every
 * client with SHUTDOWN and the bridge. Resolves with the exit code: 0 after a clean stop, 1 when
 * it failed or took longer than 4.5 s, 2 for bad configuration. A second signal exits at once.
 */
export async function runCli(signals: SignalTrap): Promise<number> {
  let config: GatewayConfig
  try {
    config = loadConfig(process.env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`stockpulse-gateway: ${error.message}\n`)
    return 2
  }
  const logger = createLogger(config.logLevel)
  signals.onForce((signal) => logger.warn({ signal }, 'stopping again: exiting now'))
  const bridge = createRedisBridge(config.redisUrl, {
    logger,
    keyPrefix: config.keyPrefix,
    replayLimit: config.historyReplayLimit,
  })
  const runs = createRunQueue({ url: config.redisUrl, prefix: config.keyPrefix })
  const storedValues = config.databaseUrl
    ? createStoredValuesReader(config.databaseUrl, config.storedTables, logger)
    : undefined
  const gateway = createGateway({
    bridge,
    runs,
    ...(storedValues ? { storedValues } : {}),
    config,
    logger,
  })
  if (!signals.signal.aborted) {
    await gateway.listen().catch(async (error: unknown) => {
      await Promise.all([bridge.close(), runs.close(), storedValues?.close()])
      throw error
    })
  }
  if (!signals.signal.aborted) {
    await new Promise((resolve) =>
      signals.signal.addEventListener('abort', resolve, { once: true }),
    )
  }
  logger.info({ signal: signals.received }, 'shutting down')
  const deadline = setTimeout(() => {
    logger.error('shutdown took too long')
    process.exit(1)
  }, SHUTDOWN_DEADLINE_MS).unref()
  try {
    await gateway.close()
    await Promise.all([bridge.close(), runs.close(), storedValues?.close()])
    logger.info('stopped')
    return 0
  } catch (error) {
    logger.error({ error: (error as Error).message }, 'shutdown failed')
    return 1
  } finally {
    clearTimeout(deadline)
  }
}
