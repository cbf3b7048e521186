#!/usr/bin/env node
import { exitWhenStopped, trapSignals } from '@stockpulse/lifecycle'

// Signals are caught before anything else loads, so a SIGTERM during start-up is a clean stop.
const signals = trapSignals('stockpulse-gateway')
try {
  const { runCli } = await import('./cli.js')
  exitWhenStopped('stockpulse-gateway', await runCli(signals))
} catch (error) {
  process.stderr.write(`stockpulse-gateway: ${(error as Error).stack ?? String(error)}\n`)
  exitWhenStopped('stockpulse-gateway', 1)
}
