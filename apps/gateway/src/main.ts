#!/usr/bin/env node
import { loadConfig } from './config.js'
import { ConfigError } from './errors.js'
import { createGateway } from './gateway.js'
import { createLogger } from './logger.js'
import { createRedisBridge } from './redis-bridge.js'

/** Longest a shutdown may take before the process exits anyway. */
const SHUTDOWN_DEADLINE_MS = 4_500

let config: ReturnType<typeof loadConfig>
try {
  config = loadConfig(process.env)
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  process.stderr.write(`stockpulse-gateway: ${error.message}\n`)
  process.exit(2)
}
const logger = createLogger(config.logLevel)
const bridge = createRedisBridge(config.redisUrl, {
  logger,
  keyPrefix: config.keyPrefix,
  replayLimit: config.historyReplayLimit,
})
const gateway = createGateway({ bridge, config, logger })
await gateway.listen()

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'shutting down')
    setTimeout(() => {
      logger.error('shutdown took too long')
      process.exit(1)
    }, SHUTDOWN_DEADLINE_MS).unref()
    gateway
      .close()
      .then(() => bridge.close())
      .then(
        () => process.exit(0),
        (error: Error) => {
          logger.error({ error: error.message }, 'shutdown failed')
          process.exit(1)
        },
      )
  })
}
