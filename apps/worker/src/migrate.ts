import type { BarsTableNames, TableName } from '@stockpulse/config'
import { type Database, type DatabaseClient, inTransaction } from './database.js'
import { DatabaseSchemaError } from './errors.js'

/** The tables `stockpulse-worker migrate` creates. */
export interface SchemaNames {
  readonly bars: BarsTableNames
  readonly values: TableName
}

/**
 * Creates the bars table and the indicator values table when missing (idempotent: an existing
 * table is left as it is). Runs in one transaction under an advisory lock, so two workers
 * migrating at once do not collide. Returns the tables it created.
 */
export async function migrate(database: Database, names: SchemaNames): Promise<string[]> {
  const { table, columns: c } = names.bars
  const values = names.values
  return inTransaction(database, '', async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('stockpulse-worker migrate'))`)
    const created: string[] = []
    if (!(await exists(tx, table))) {
      await tx.query(`CREATE TABLE ${table.sql} (
        ${c.stock_code} text NOT NULL,
        ${c.trade_date} date NOT NULL,
        ${c.open} double precision,
        ${c.high} double precision,
        ${c.low} double precision,
        ${c.close} double precision,
        ${c.volume} double precision,
        PRIMARY KEY (${c.stock_code}, ${c.trade_date}))`)
      created.push(table.text)
    }
    if (!(await exists(tx, values))) {
      await tx.query(`CREATE TABLE ${values.sql} (
        stock_code text NOT NULL,
        trade_date date NOT NULL,
        indicator text NOT NULL,
        output text NOT NULL,
        value double precision,
        task_id text NOT NULL,
        computed_at timestamptz NOT NULL,
        PRIMARY KEY (stock_code, trade_date, indicator, output))`)
      created.push(values.text)
    }
    return created
  })
}

/** Throws a DatabaseSchemaError naming the migrate command when `table` does not exist. */
export async function missingTable(database: Database, table: TableName, what: string) {
  if (await exists(database, table)) return
  throw new DatabaseSchemaError(
    table.text,
    `table ${table.text} (${what}) does not exist: create it with the migrate command (pnpm worker migrate in the repository)`,
  )
}

async function exists(database: Database | DatabaseClient, table: TableName): Promise<boolean> {
  const { rows } = await database.query<{ found: boolean }>(
    'SELECT to_regclass($1) IS NOT NULL AS found',
    [table.sql],
  )
  return rows[0]?.found === true
}
