/** Bad configuration: names the environment variable or flag at fault. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(
    /** `--stocks`, `REDIS_URL`, ... or the command word. */
    readonly variable: string,
    message: string,
  ) {
    super(message)
  }
}

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
