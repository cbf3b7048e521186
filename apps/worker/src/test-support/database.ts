import { createTestDatabase, type TestDatabase } from '@stockpulse/testing'
import { pino } from 'pino'
import { afterAll, beforeAll } from 'vitest'
import { createDatabase, type Database } from '../database.js'

/**
 * A database of its own on the test server, and the worker's pool on it, for the enclosing
 * `describe`: created before its tests, closed and dropped after them.
 */
export function useTestDatabase(): () => Database {
  let server: TestDatabase
  let database: Database
  beforeAll(async () => {
    server = await createTestDatabase()
    database = createDatabase(server.url, pino({ level: 'silent' }))
  })
  afterAll(async () => {
    await database?.end()
    await server?.drop()
  })
  return () => database
}
