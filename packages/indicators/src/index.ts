export { atr, atrInto, atrLookback } from './atr.js'
export { type BbandsOutput, bbands, bbandsInto, bbandsLookback } from './bbands.js'
export { ema, emaInto, emaLookback } from './ema.js'
export {
  IndicatorInputError,
  IndicatorParamError,
  type InputErrorReason,
  UnknownIndicatorError,
} from './errors.js'
export { type KdjOutput, kdj, kdjInto, kdjLookback } from './kdj.js'
export { type MacdOutput, macd, macdInto, macdLookback } from './macd.js'
export {
  type Bars,
  DEFAULT_INDICATORS,
  type Indicator,
  type IndicatorKind,
  type IndicatorValues,
  type InputName,
  indicatorById,
  resolveIndicators,
} from './registry.js'
export { rsi, rsiInto, rsiLookback } from './rsi.js'
export type { Convention, IndicatorOptions, Series } from './series.js'
export { sma, smaInto, smaLookback } from './sma.js'
