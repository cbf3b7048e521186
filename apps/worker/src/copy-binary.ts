const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')
const HEADER_FIXED = SIGNATURE.length + 8

/** One row of a binary COPY: field f is `view` bytes `start[f]` on, `length[f]` long (-1 = NULL). */
export interface CopyRow {
  readonly view: DataView
  readonly start: Int32Array
  readonly length: Int32Array
}

/** Feeds the chunks of a `COPY ... TO STDOUT (FORMAT binary)` stream; calls back once per row. */
export interface CopyBinaryParser {
  push(chunk: Buffer): void
  /** Throws unless the stream ended with its trailer. */
  end(): void
}

/**
 * A streaming parser of PostgreSQL's binary COPY format (header, tuples of `fields` fields,
 * trailer). Rows that straddle two chunks are carried over; `onRow` gets views valid only during
 * the call. Throws on a malformed stream.
 */
export function createCopyBinaryParser(
  fields: number,
  onRow: (row: CopyRow) => void,
): CopyBinaryParser {
  const start = new Int32Array(fields)
  const length = new Int32Array(fields)
  let carry: Buffer | undefined
  let header = true
  let done = false

  return {
    push(chunk) {
      if (done) throw new Error('binary COPY: data after the trailer')
      const buffer = carry ? Buffer.concat([carry, chunk]) : chunk
      let at = 0
      if (header) {
        if (buffer.length < HEADER_FIXED) {
          carry = buffer
          return
        }
        if (!buffer.subarray(0, SIGNATURE.length).equals(SIGNATURE)) {
          throw new Error('binary COPY: bad signature')
        }
        const extension = buffer.readInt32BE(SIGNATURE.length + 4)
        if (buffer.length < HEADER_FIXED + extension) {
          carry = buffer
          return
        }
        at = HEADER_FIXED + extension
        header = false
      }
      // DataView reads compile to single loads; Buffer's readInt32BE and friends do not.
      const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.length)
      const size = buffer.length
      const row: CopyRow = { view, start, length }
      for (;;) {
        if (at + 2 > size) break
        const count = view.getInt16(at)
        if (count === -1) {
          done = true
          at += 2
          break
        }
        if (count !== fields) throw new Error(`binary COPY: ${count} fields, expected ${fields}`)
        let p = at + 2
        let complete = true
        for (let f = 0; f < fields; f++) {
          if (p + 4 > size) {
            complete = false
            break
          }
          const n = view.getInt32(p)
          p += 4
          start[f] = p
          length[f] = n
          if (n > 0) p += n
        }
        if (!complete || p > size) break
        onRow(row)
        at = p
      }
      carry = at < size ? buffer.subarray(at) : undefined
    },
    end() {
      if (!done || carry) throw new Error('binary COPY: the stream ended early')
    },
  }
}
