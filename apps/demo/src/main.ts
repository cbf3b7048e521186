#!/usr/bin/env node
import { fileURLToPath } from 'node:url'
import { startInMemory, startOverRedis } from './demo.js'
import { redisAnswers } from './redis-probe.js'

const REDIS_PROBE_MS = 1_000
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'

const env: NodeJS.ProcessEnv = {
  STATIC_DIR: fileURLToPath(new URL('../../web/dist/', import.meta.url)),
  ...process.env,
}
const redisUrl = env.REDIS_URL ?? DEFAULT_REDIS_URL
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
