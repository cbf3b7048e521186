// PostgreSQL's binary array format (array_recv): node-postgres sends a Buffer parameter in binary,
// so a `$1::float8[]` built here reaches the server without text to escape, quote and parse.

// Type oids of the element types (pg_type.oid).
const TEXT_OID = 25
const DATE_OID = 1082
const FLOAT8_OID = 701
const HEADER = 20
// PostgreSQL dates count days from 2000-01-01.
const PG_EPOCH_DAY = 10_957

/** A one-dimensional `text[]` of `values` (no NULLs), as a binary parameter. */
export function textArray(values: readonly string[]): Buffer {
  let size = HEADER + 4 * values.length
  for (const value of values) size += Buffer.byteLength(value)
  const buffer = header(size, TEXT_OID, values.length)
  let at = HEADER
  for (const value of values) {
    const n = buffer.write(value, at + 4)
    buffer.writeInt32BE(n, at)
    at += 4 + n
  }
  return buffer
}

/** A one-dimensional `date[]` of days since 1970-01-01 (see `epochDay`), as a binary parameter. */
export function dateArray(days: Int32Array): Buffer {
  const buffer = header(HEADER + 8 * days.length, DATE_OID, days.length)
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.length)
  for (let i = 0, at = HEADER; i < days.length; i++, at += 8) {
    view.setInt32(at, 4)
    view.setInt32(at + 4, days[i]! - PG_EPOCH_DAY)
  }
  return buffer
}

/** A one-dimensional `float8[]` of `values` (NaN stays NaN, never NULL), as a binary parameter. */
export function float8Array(values: Float64Array): Buffer {
  const buffer = header(HEADER + 12 * values.length, FLOAT8_OID, values.length)
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.length)
  for (let i = 0, at = HEADER; i < values.length; i++, at += 12) {
    view.setInt32(at, 8)
    view.setFloat64(at + 4, values[i]!)
  }
  return buffer
}

// The array header: one dimension of `count` elements from index 1, no NULLs.
function header(size: number, oid: number, count: number): Buffer {
  const buffer = Buffer.allocUnsafe(size)
  buffer.writeInt32BE(1, 0)
  buffer.writeInt32BE(0, 4)
  buffer.writeInt32BE(oid, 8)
  buffer.writeInt32BE(count, 12)
  buffer.writeInt32BE(1, 16)
  return buffer
}
