import { describe, expect, it } from 'vitest'
import { type CopyRow, createCopyBinaryParser } from './copy-binary.js'

// A binary COPY stream of rows (int4, float8), null where a value is null.
function copyStream(rows: readonly (readonly [number | null, number | null])[]): Buffer {
  const parts = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), int32(0), int32(4), int32(7)]
  for (const [id, value] of rows) {
    const count = Buffer.alloc(2)
    count.writeInt16BE(2)
    parts.push(count)
    parts.push(id === null ? int32(-1) : Buffer.concat([int32(4), int32(id)]))
    if (value === null) parts.push(int32(-1))
    else {
      const double = Buffer.alloc(8)
      double.writeDoubleBE(value)
      parts.push(int32(8), double)
    }
  }
  parts.push(Buffer.from([0xff, 0xff]))
  return Buffer.concat(parts)
}

function int32(value: number): Buffer {
  const buffer = Buffer.alloc(4)
  buffer.writeInt32BE(value)
  return buffer
}

const ROWS = [
  [1, 9.79],
  [2, null],
  [null, -0.5],
  [4, Number.NaN],
] as const

function parse(chunks: readonly Buffer[]) {
  const rows: (readonly [number | null, number | null])[] = []
  const parser = createCopyBinaryParser(2, ({ view, start, length }: CopyRow) => {
    rows.push([
      length[0] === -1 ? null : view.getInt32(start[0]!),
      length[1] === -1 ? null : view.getFloat64(start[1]!),
    ])
  })
  for (const chunk of chunks) parser.push(chunk)
  parser.end()
  return rows
}

describe('copy-binary', () => {
  it('reads rows and NULLs however the stream is cut into chunks', () => {
    const stream = copyStream(ROWS)
    expect(parse([stream])).toEqual(ROWS)
    for (let cut = 1; cut < stream.length; cut++) {
      expect(parse([stream.subarray(0, cut), stream.subarray(cut)]), `cut at ${cut}`).toEqual(ROWS)
    }
    const bytes = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1))
    expect(parse(bytes)).toEqual(ROWS)
  })

  it('refuses a stream that ends early, a bad signature and a wrong field count', () => {
    const stream = copyStream(ROWS)
    expect(() => parse([stream.subarray(0, stream.length - 2)])).toThrow(
      'binary COPY: the stream ended early',
    )
    expect(() => parse([Buffer.from('COPY!', 'latin1'), stream])).toThrow(
      'binary COPY: bad signature',
    )
    const parser = createCopyBinaryParser(3, () => {})
    expect(() => parser.push(stream)).toThrow('binary COPY: 2 fields, expected 3')
  })
})
