import pg from 'pg'
import type { Logger } from 'pino'

/** A PostgreSQL connection pool (node-postgres). */
export type Database = pg.Pool
/** One connection of the pool, for a transaction or a COPY. */
export type DatabaseClient = pg.PoolClient

/** Fewest connections the worker opens: one streams the bars, the rest write results. */
export const DATABASE_CONNECTIONS = 4

/**
 * A pool on `url` (`postgres://` or `postgresql://`) of at most `connections` (`serve` runs
 * threads + 1 chunks at once, each reading and then writing); nothing connects until the first
 * query. An idle connection that breaks is logged and replaced, never thrown.
 */
export function createDatabase(
  url: string,
  logger: Logger,
  connections = DATABASE_CONNECTIONS,
): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: Math.max(DATABASE_CONNECTIONS, connections),
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
  })
  pool.on('error', (error) => logger.warn({ err: error }, 'postgres connection lost'))
  return pool
}

/**
 * Runs `work` in a transaction (`BEGIN mode`, COMMIT, ROLLBACK on error). A connection whose
 * rollback fails, or that `work` left unusable, is closed rather than returned to the pool.
 */
export async function inTransaction<T>(
  database: Database,
  mode: '' | 'READ ONLY',
  work: (client: DatabaseClient) => Promise<T>,
): Promise<T> {
  const client = await database.connect()
  try {
    await client.query(mode ? `BEGIN ${mode}` : 'BEGIN')
    const result = await work(client)
    await client.query('COMMIT')
    client.release()
    return result
  } catch (error) {
    const broken = await client.query('ROLLBACK').then(
      () => false,
      () => true,
    )
    client.release(broken)
    throw error
  }
}
