#!/usr/bin/env node
import { exitWhenStopped, trapSignals } from '@stockpulse/lifecycle'

// Signals are caught before anything else: loading the rest takes ~200 ms, and a SIGTERM in that
// time must still end in a logged stop with the documented exit code, not a silent death.
const signals = trapSignals('stockpulse-worker')
try {
  const { runCli } = await import('./cli.js')
  exitWhenStopped('stockpulse-worker', await runCli(process.argv.slice(2), signals))
} catch (error) {
  process.stderr.write(`stockpulse-worker: ${(error as Error).stack ?? String(error)}\n`)
  exitWhenStopped('stockpulse-worker', 1)
}
