import { randomBytes } from 'node:crypto'
import pg from 'pg'

/** Where tests find PostgreSQL: trust auth on the loopback, as `.ci/run` sets it up. */
export const TEST_DATABASE_SERVER = 'postgres://postgres@127.0.0.1:5432/'

/** A database of its own for one test file, on the shared PostgreSQL server. */
export interface TestDatabase {
  readonly name: string
  /** `postgres://.../<name>`, for the code under test. */
  readonly url: string
  /** Drops it, closing whatever is still connected to it. */
  drop(): Promise<void>
}

/** Creates an empty, uniquely named database (`sp_test_<hex>`) on `server`. */
export async function createTestDatabase(server = TEST_DATABASE_SERVER): Promise<TestDatabase> {
  const name = `sp_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`
  await admin(server, `CREATE DATABASE ${name}`)
  const url = new URL(server)
  url.pathname = `/${name}`
  return {
    name,
    url: url.toString(),
    drop: () => admin(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  }
}

async function admin(server: string, statement: string): Promise<void> {
  const url = new URL(server)
  url.pathname = '/postgres'
  const client = new pg.Client({ connectionString: url.toString() })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}
