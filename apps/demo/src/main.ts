#!/usr/bin/env node
import { fileURLToPath } from 'node:url'
import { exitWhenStopped, trapSignals } from '@stockpulse/lifecycle'

// Signals first: loading gateway and worker takes a moment, and a Ctrl-C meanwhile must still be
// a clean stop. Exit codes: 0 after a clean stop, 1 when a service failed or ended on its own,
// 2 for a bad REDIS_URL.
const signals = trapSignals('stockpulse')
const REDIS_PROBE_MS = 1_000
const log = (line: string) => process.stderr.write(`stockpulse: ${line}\n`)
try {
  const { ConfigError, parseEnv, SHARED_OPTIONS } = await import('@stockpulse/config')
  const { startInMemory, startOverRedis } = await import('./demo.js')
  const { redisAnswers } = await import('./redis-probe.js')
  const { redactUrl } = await import('@stockpulse/worker')
  const env: NodeJS.ProcessEnv = {
    STATIC_DIR: fileURLToPath(new URL('../../web/dist/', import.meta.url)),
    ...process.env,
  }
  let redisUrl: string
  try {
    redisUrl = parseEnv({ redisUrl: SHARED_OPTIONS.redisUrl }, env).redisUrl
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    log(error.message)
    process.exit(2)
  }
  const viaRedis = await redisAnswers(redisUrl, REDIS_PROBE_MS)
  if (!viaRedis) {
    log(
      `no Redis at ${redactUrl(redisUrl)}; running gateway and worker in one process over an in-process bus`,
    )
  }
  const demo = await (viaRedis ? startOverRedis(env, log) : startInMemory(env))
  log(`dashboard at http://localhost:${demo.port}/ (${demo.mode} mode); Ctrl-C stops`)
  const stop = () => {
    const signal = signals.received ?? 'SIGTERM'
    log(`stopping (${signal})`)
    demo.stop(signal)
  }
  if (signals.signal.aborted) stop()
  else signals.signal.addEventListener('abort', stop, { once: true })
  const code = await demo.exited
  log(code === 0 ? 'stopped' : `stopped with exit code ${code}`)
  exitWhenStopped('stockpulse', code)
} catch (error) {
  log((error as Error).stack ?? String(error))
  exitWhenStopped('stockpulse', 1)
}
