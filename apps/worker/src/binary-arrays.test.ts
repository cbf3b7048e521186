import { describe, expect, it } from 'vitest'
import { epochDay } from './bars.js'
import { dateArray, float8Array, textArray } from './binary-arrays.js'
import { useTestDatabase } from './test-support/database.js'

describe('binary-arrays', () => {
  const db = useTestDatabase()

  it('reach the server as the arrays they encode', async () => {
    const texts = ['600519.SH', '', 'a "quoted", {braced} \\ value', 'NULL', 'µ€ 株']
    const dates = ['2026-01-09', '2000-01-01', '1999-12-31', '1970-01-01', '0001-01-01']
    const floats = [9.79, -0.5, 0, Number.MAX_VALUE, 5e-324, Number.NaN, Number.POSITIVE_INFINITY]
    const { rows } = await db().query(
      `SELECT $1::text[] AS texts, $2::date[]::text[] AS dates, $3::float8[] AS floats,
        array_length($1::text[], 1) AS n, $4::text[] AS empty`,
      [
        textArray(texts),
        dateArray(Int32Array.from(dates, (date) => epochDay(date)!)),
        float8Array(Float64Array.from(floats)),
        textArray([]),
      ],
    )
    expect(rows[0]).toEqual({ texts, dates, floats, n: texts.length, empty: [] })
  })
})
