/** Bad configuration: a value, a flag or a combination an app cannot run with. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(
    /** What to fix: `--stocks`, `REDIS_URL`, ... (the flag when the value came from a flag), or `command`. */
    readonly variable: string,
    message: string,
  ) {
    super(message)
  }
}

/** An option row contradicts itself or another row of its spec: a programming error. */
export class OptionSpecError extends Error {
  override readonly name = 'OptionSpecError'
  constructor(
    /** The key of the row at fault. */
    readonly key: string,
    readonly reason: string,
  ) {
    super(`option ${key}: ${reason}`)
  }
}

/** A markdown file lacks the markers of a generated block. */
export class MarkdownBlockError extends Error {
  override readonly name = 'MarkdownBlockError'
  constructor(
    /** The block: `config:worker`. */
    readonly block: string,
  ) {
    super(`no <!-- ${block}:start --> ... <!-- ${block}:end --> markers`)
  }
}
