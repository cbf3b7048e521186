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

  // Parses what is complete in `buffer` from `at` on; returns where the first incomplete part starts.
  const consume = (buffer: Buffer, at: number): number => {
    if (header) {
      if (buffer.length < at + HEADER_FIXED) return at
      if (!buffer.subarray(at, at + SIGNATURE.length).equals(SIGNATURE)) {
        throw new Error('binary COPY: bad signature')
      }
      const extension = buffer.readInt32BE(at + SIGNATURE.length + 4)
      if (buffer.length < at + HEADER_FIXED + extension) return at
      at += HEADER_FIXED + extension
      header = false
    }
    // DataView reads compile to single loads; Buffer's readInt32BE and friends do not.
    const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.length)
    const size = buffer.length
    const row: CopyRow = { view, start, length }
    while (at + 2 <= size) {
      const count = view.getInt16(at)
      if (count === -1) {
        done = true
        at += 2
        if (at !== size) throw new Error('binary COPY: data after the trailer')
        break
      }
      if (count !== fields) throw new Error(`binary COPY: ${count} fields, expected ${fields}`)
      let p = at + 2
      for (let f = 0; f < fields && p <= size; f++) {
        if (p + 4 > size) {
          p = size + 1
          break
        }
        const n = view.getInt32(p)
        p += 4
        start[f] = p
        length[f] = n
        if (n > 0) p += n
      }
      if (p > size) break
      onRow(row)
      at = p
    }
    return at
  }

  return {
    push(chunk) {
      if (done) throw new Error('binary COPY: data after the trailer')
      let rest = chunk
      if (carry) {
        // The row that straddles two chunks is completed from a prefix of the new one: the
        // chunk itself (64 KiB or so) is never copied.
        const before = carry.length
        let take = Math.min(chunk.length, 4096)
        for (;;) {
          const joined = Buffer.concat([carry, chunk.subarray(0, take)])
          const used = consume(joined, 0)
          if (used > before || done) {
            rest = chunk.subarray(used - before)
            carry = undefined
            break
          }
          if (take === chunk.length) {
            carry = joined
            return
          }
          take = Math.min(chunk.length, take * 4)
        }
      }
      if (done) {
        if (rest.length > 0) throw new Error('binary COPY: data after the trailer')
        return
      }
      const used = consume(rest, 0)
      carry = used < rest.length ? Buffer.from(rest.subarray(used)) : undefined
    },
    end() {
      if (!done || carry) throw new Error('binary COPY: the stream ended early')
    },
  }
}
