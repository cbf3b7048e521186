/** Exit codes of a stop by signal: 128 + the signal's number, as shells report them. */
export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const
export type StopSignal = keyof typeof SIGNAL_EXIT_CODES

/** The process's SIGINT and SIGTERM, caught from its first moment. */
export interface SignalTrap {
  /** Aborted by the first signal; its reason is the signal's name. */
  readonly signal: AbortSignal
  /** The first signal received, if any. */
  readonly received: StopSignal | undefined
  /**
   * Sets what a second signal does first (log, say): the process then dies of that signal at
   * once (a shell shows 130 or 143). Until set, a line goes to stderr.
   */
  onForce(handler: (signal: StopSignal) => void): void
}

/**
 * Installs SIGINT and SIGTERM handlers. Call it first thing in `main.ts`, before anything slow
 * (imports, threads, connections): the first signal asks the program to stop, the second one
 * ends the process at once: it dies of that signal, as if it had never caught it. Not
 * `process.exit`: that tears V8 down under threads that may be compiling, which can abort the
 * process (SIGABRT, seen in CI with compute threads starting).
 */
export function trapSignals(program: string): SignalTrap {
  const controller = new AbortController()
  let received: StopSignal | undefined
  let force = (signal: StopSignal) => {
    process.stderr.write(`${program}: ${signal} while stopping: exiting now\n`)
  }
  for (const name of Object.keys(SIGNAL_EXIT_CODES) as StopSignal[]) {
    process.on(name, () => {
      if (received === undefined) {
        received = name
        controller.abort(name)
        return
      }
      force(name)
      process.removeAllListeners(name)
      process.kill(process.pid, name)
    })
  }
  return {
    signal: controller.signal,
    get received() {
      return received
    },
    onForce(handler) {
      force = handler
    },
  }
}
