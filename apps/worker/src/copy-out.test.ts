import { describe, expect, it } from 'vitest'
import { createCopyBinaryParser } from './copy-binary.js'
import { copyOut, createCopyDataReader } from './copy-out.js'
import { useTestDatabase } from './test-support/database.js'

// A backend message: type byte, length (itself included), body.
function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5)
  head.write(type, 0, 'latin1')
  head.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([head, body])
}

const PAYLOADS = [
  Buffer.from('first row'),
  Buffer.alloc(0),
  Buffer.from('x'),
  Buffer.from('a longer third row'),
]
const DONE = Buffer.concat([
  message('c', Buffer.alloc(0)),
  message('C', Buffer.from('COPY 4\0')),
  message('Z', Buffer.from('I')),
])
const STREAM = Buffer.concat([
  message('H', Buffer.from([0, 0, 0])),
  message('d', PAYLOADS[0]!),
  message('N', Buffer.from('SNOTICE\0\0')),
  ...PAYLOADS.slice(1).map((payload) => message('d', payload)),
  DONE,
])

// Feeds `stream` cut at `cuts` until the reader ends; returns the data it handed on, and what
// the caller's parser reads next: the rest it was given, then the reads it was not.
function read(stream: Buffer, cuts: readonly number[]) {
  const data: Buffer[] = []
  let rest: Buffer | undefined
  const reader = createCopyDataReader(
    (chunk) => data.push(Buffer.from(chunk)),
    (end) => {
      rest = Buffer.from(end)
    },
  )
  const bounds = [0, ...cuts, stream.length]
  let i = 1
  for (; i < bounds.length && rest === undefined; i++) {
    reader.push(Buffer.from(stream.subarray(bounds[i - 1], bounds[i])))
  }
  const after = rest ? [rest, stream.subarray(bounds[i - 1])] : []
  return { data: Buffer.concat(data).toString(), after: Buffer.concat(after).toString('hex') }
}

describe('copy-out', () => {
  it('hands on the CopyData payloads and the rest from CopyDone on, however the reads are cut', () => {
    const expected = { data: Buffer.concat(PAYLOADS).toString(), after: DONE.toString('hex') }
    expect(read(STREAM, [])).toEqual(expected)
    for (let a = 1; a < STREAM.length; a++) {
      for (let b = a + 1; b < STREAM.length; b++) {
        expect(read(STREAM, [a, b]), `cut at ${a} and ${b}`).toEqual(expected)
      }
    }
  })

  it('stops at an ErrorResponse and leaves it to the caller', () => {
    const error = Buffer.concat([
      message('E', Buffer.from('SERROR\0Mboom\0\0')),
      message('Z', Buffer.from('I')),
    ])
    const start = message('H', Buffer.from([0, 0, 0]))
    const stream = Buffer.concat([start, message('d', Buffer.from('row')), error])
    for (let cut = 1; cut < stream.length; cut++) {
      expect(read(stream, [cut]), `cut at ${cut}`).toEqual({
        data: 'row',
        after: error.toString('hex'),
      })
    }
  })

  it('refuses what a COPY out cannot send, instead of waiting for a CopyDone that never comes', () => {
    const start = message('H', Buffer.from([0, 0, 0]))
    const row = message('D', Buffer.from([0, 1, 0, 0, 0, 1, 0x31]))
    for (const [stream, code] of [
      [Buffer.concat([start, message('d', Buffer.from('a')), row]), 'D'], // a SELECT's DataRow
      [message('T', Buffer.from([0, 0])), 'T'], // a SELECT's RowDescription, first
      [message('d', Buffer.from('a')), 'd'], // data before CopyOutResponse: out of step
      [message('G', Buffer.from([0, 0, 0])), 'G'], // CopyInResponse: COPY FROM STDIN
    ] as const) {
      expect(() => read(stream, []), code).toThrow(`unexpected message "${code}"`)
    }
  })
})

describe('copyOut on a server', () => {
  const db = useTestDatabase()

  const ROWS = 100_000
  const copy = (expression: string) =>
    `COPY (SELECT g::int4, ${expression}::float8 FROM generate_series(1, ${ROWS}) AS g) TO STDOUT (FORMAT binary)`

  it('streams every row of a binary COPY, and leaves the connection ready for the next query', async () => {
    const client = await db().connect()
    try {
      let rows = 0
      let sum = 0
      const parser = createCopyBinaryParser(2, ({ view, start }) => {
        rows++
        sum += view.getInt32(start[0]!) + view.getFloat64(start[1]!)
      })
      await copyOut(client, copy('g / 2.0'), (data) => parser.push(data))
      parser.end()
      expect(rows).toBe(ROWS)
      expect(sum).toBe((ROWS * (ROWS + 1) * 3) / 4)
      const { rows: after } = await client.query<{ one: number }>('SELECT 1 AS one')
      expect(after).toEqual([{ one: 1 }])
    } finally {
      client.release()
    }
  })

  it("rejects with the server's error mid-stream, and the connection stays usable", async () => {
    const client = await db().connect()
    try {
      let rows = 0
      const parser = createCopyBinaryParser(2, () => rows++)
      await expect(
        copyOut(client, copy(`1 / (g - ${ROWS / 2})`), (data) => parser.push(data)),
      ).rejects.toThrow('division by zero')
      expect(rows).toBeLessThan(ROWS / 2)
      const { rows: after } = await client.query<{ one: number }>('SELECT 1 AS one')
      expect(after).toEqual([{ one: 1 }])
    } finally {
      client.release()
    }
  })

  it('rejects a statement that is not a COPY out instead of hanging', async () => {
    const client = await db().connect()
    await expect(copyOut(client, 'SELECT 1', () => {})).rejects.toThrow('unexpected message "T"')
    client.release(true)
  })

  it('fails the query, not the process, on a connection read by someone else too', async () => {
    const client = await db().connect()
    const stream = (client as unknown as { connection: { stream: NodeJS.EventEmitter } }).connection
      .stream
    const extra = () => {}
    stream.on('data', extra)
    try {
      await expect(copyOut(client, copy('g'), () => {})).rejects.toThrow('no single reader')
    } finally {
      stream.removeListener('data', extra)
    }
    const { rows } = await client.query<{ one: number }>('SELECT 1 AS one')
    expect(rows).toEqual([{ one: 1 }])
    client.release()
  })

  it('rejects with what the consumer threw', async () => {
    const client = await db().connect()
    await expect(
      copyOut(client, copy('g'), () => {
        throw new Error('bad bars')
      }),
    ).rejects.toThrow('bad bars')
    client.release(true)
  })
})
