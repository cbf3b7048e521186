/** Why an input series was rejected. */
export type InputErrorReason = 'not-finite' | 'length-mismatch' | 'missing'

/** An input series holds NaN/Infinity, has the wrong length or is missing: a per-stock failure. */
export class IndicatorInputError extends Error {
  override readonly name = 'IndicatorInputError'

  constructor(
    /** The series at fault: `close`, `high`, `low`. */
    readonly input: string,
    /** First bad bar, or for a length mismatch the first bar one series lacks; -1 when missing. */
    readonly index: number,
    readonly reason: InputErrorReason,
    message: string,
  ) {
    super(message)
  }
}

/** A parameter (period, multiplier, output buffer) is out of range: a code or configuration error. */
export class IndicatorParamError extends Error {
  override readonly name = 'IndicatorParamError'

  constructor(
    /** The function that rejected it, e.g. `sma`. */
    readonly fn: string,
    readonly param: string,
    readonly value: unknown,
    message: string,
  ) {
    super(message)
  }
}

/** An indicator id in the configuration matches no known pattern. */
export class UnknownIndicatorError extends Error {
  override readonly name = 'UnknownIndicatorError'

  constructor(readonly id: string) {
    super(
      `Unknown indicator id '${id}': expected SMA_<n>, EMA_<n>, MACD[_<fast>_<slow>_<signal>], ` +
        'RSI[_<n>], BBANDS[_<n>_<k>], ATR[_<n>] or KDJ[_<n>_<m1>_<m2>]',
    )
  }
}
