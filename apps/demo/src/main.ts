#!/usr/bin/env node
import { fileURLToPath } from 'node:url'
import { ConfigError, parseEnv, SHARED_OPTIONS } from '@stockpulse/config'
import { startInMemory, startOverRedis } from './demo.js'
import { redisAnswers } from './redis-probe.js'

const REDIS_PROBE_MS = 1_000

const env: NodeJS.ProcessEnv = {
  STATIC_DIR: fileURLToPath(new URL('../../web/dist/', import.meta.url)),
  ...process.env,
}
let redisUrl: string
try {
  redisUrl = parseEnv({ redisUrl: SHARED_OPTIONS.redisUrl }, env).redisUrl
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  process.stderr.write(`stockpulse: ${error.message}\n`)
  process.exit(2)
}
const viaRedis = await redisAnswers(redisUrl, REDIS_PROBE_MS)
if (!viaRedis) {
  process.stderr.write(
    `stockpulse: no Redis at ${redisUrl}; running gateway and worker in one process over an in-process bus\n`,
  )
}
const demo = await (viaRedis ? startOverRedis(env) : startInMemory(env))
process.stderr.write(
  `stockpulse: dashboard at http://localhost:${demo.port}/ (${demo.mode} mode); Ctrl-C stops\n`,
)
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => demo.stop())
process.exitCode = await demo.exited
