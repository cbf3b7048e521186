/** Bad configuration: names the flag or variable at fault (`variable`); one class for every app. */
export { ConfigError } from '@stockpulse/config'

/** A bar file is unreadable or corrupt; `line` is 1-based, 0 when the whole file is at fault. */
export class BarDataError extends Error {
  override readonly name = 'BarDataError'
  constructor(
    readonly stockCode: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `${stockCode}.csv line ${line}: ${reason}` : `${stockCode}.csv: ${reason}`)
  }
}
