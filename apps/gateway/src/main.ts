#!/usr/bin/env node
import { trapSignals } from '@stockpulse/lifecycle'

// Signals are caught before anything else loads, so a SIGTERM during start-up is a clean stop.
const signals = trapSignals('stockpulse-gateway')
try {
  const { runCli } = await import('./cli.js')
  process.exitCode = await runCli(signals)
} catch (error) {
  process.stderr.write(`stockpulse-gateway: ${(error as Error).stack ?? String(error)}\n`)
  process.exitCode = 1
}
