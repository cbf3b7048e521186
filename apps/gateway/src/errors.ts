/** Thrown by `loadConfig` when an environment variable cannot be used; names the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(
    readonly variable: string,
    readonly reason: string,
  ) {
    super(`${variable} ${reason}`)
  }
}

/** A history read failed because Redis could not answer (down, or the reader reconnecting). */
export class HistoryUnavailableError extends Error {
  override readonly name = 'HistoryUnavailableError'
  constructor(
    readonly operation: string,
    override readonly cause: unknown,
  ) {
    super(`history ${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
}
