export {
  BAR_COLUMNS,
  type BarColumn,
  type BarsTableNames,
  barsTableNames,
  DEFAULT_BARS_TABLE,
  DEFAULT_VALUES_TABLE,
  identifierProblem,
  type TableName,
  tableName,
} from './database-names.js'
export { ConfigError, MarkdownBlockError, OptionSpecError } from './errors.js'
export { deepFreeze } from './freeze.js'
export { labelOf, optionHelp } from './help.js'
export {
  type Column,
  type MarkdownBlock,
  markdownTable,
  optionTable,
  readBlock,
  replaceBlock,
  writeBlocks,
} from './markdown.js'
export {
  accepts,
  type BooleanRow,
  defaultOf,
  type IntegerRow,
  type ListRow,
  type NumberRow,
  type OneOfRow,
  type Option,
  type OptionKind,
  type OptionValue,
  option,
  orList,
  type RowBase,
  type StringRow,
  textOf,
  type UrlRow,
} from './option.js'
export {
  type CommandLine,
  type CommandLineSource,
  type Env,
  type Origins,
  parseCommandLine,
  parseEnv,
} from './parse.js'
export { isShared, LOG_LEVELS, type LogLevel, SHARED_OPTIONS } from './shared.js'
export { defineOptions, type OptionSpec, type OptionValues } from './spec.js'
