/** Bad configuration: names the flag or variable at fault (`variable`); one class for every app. */
export { ConfigError } from '@stockpulse/config'

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
