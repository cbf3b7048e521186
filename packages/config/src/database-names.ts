/** A table name from configuration: `name` or `schema.name`, each part a plain identifier. */
export interface TableName {
  /** As configured, for messages. */
  readonly text: string
  /** Quoted, ready for SQL. */
  readonly sql: string
}

/** The bars table and its seven columns (see daily-bars-reader.ts). */
export interface BarsTableNames {
  readonly table: TableName
  /** Quoted column names. */
  readonly columns: Readonly<Record<BarColumn, string>>
  /** The same names unquoted, as the catalog has them. */
  readonly columnNames: Readonly<Record<BarColumn, string>>
}

export const BAR_COLUMNS = [
  'stock_code',
  'trade_date',
  'open',
  'high',
  'low',
  'close',
  'volume',
] as const
export type BarColumn = (typeof BAR_COLUMNS)[number]

export const DEFAULT_BARS_TABLE = 'daily_bars'
export const DEFAULT_VALUES_TABLE = 'indicator_values'

// Unquoted-identifier rules, lower case only so quoting never changes what PostgreSQL sees.
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/

/** Why `text` is not a usable identifier, or undefined. */
export function identifierProblem(text: string): string | undefined {
  return IDENTIFIER.test(text)
    ? undefined
    : `${JSON.stringify(text)} is not an identifier (a-z, 0-9 and _, not starting with a digit, at most 63)`
}

/** Validates and quotes a table name; throws a RangeError saying why it is refused. */
export function tableName(text: string): TableName {
  const parts = text.split('.')
  if (parts.length > 2) throw new RangeError(`${JSON.stringify(text)} has more than one dot`)
  for (const part of parts) {
    const problem = identifierProblem(part)
    if (problem) throw new RangeError(problem)
  }
  return { text, sql: parts.map(quote).join('.') }
}

/** Validates and quotes the bars table and its columns (`stock_code,...,volume` order). */
export function barsTableNames(
  table: string,
  columns: readonly string[] = BAR_COLUMNS,
): BarsTableNames {
  if (columns.length !== BAR_COLUMNS.length) {
    throw new RangeError(
      `expected ${BAR_COLUMNS.length} column names (${BAR_COLUMNS.join(',')}), got ${columns.length}`,
    )
  }
  const quoted: Partial<Record<BarColumn, string>> = {}
  const plain: Partial<Record<BarColumn, string>> = {}
  for (const [i, name] of BAR_COLUMNS.entries()) {
    const problem = identifierProblem(columns[i]!)
    if (problem) throw new RangeError(problem)
    quoted[name] = quote(columns[i]!)
    plain[name] = columns[i]!
  }
  return {
    table: tableName(table),
    columns: quoted as Record<BarColumn, string>,
    columnNames: plain as Record<BarColumn, string>,
  }
}

function quote(identifier: string): string {
  return `"${identifier}"`
}
