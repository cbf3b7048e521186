import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { createTestDatabase } from './test-database.js'

describe('test-database', () => {
  it('creates a database of its own and drops it with its connections', async () => {
    const database = await createTestDatabase()
    const client = new pg.Client({ connectionString: database.url })
    client.on('error', () => {})
    await client.connect()
    const { rows } = await client.query<{ name: string }>('SELECT current_database() AS name')
    expect(rows[0]?.name).toBe(database.name)
    await database.drop()
    const again = new pg.Client({ connectionString: database.url })
    await expect(again.connect()).rejects.toThrow(`database "${database.name}" does not exist`)
    await client.end().catch(() => {})
  })
})
