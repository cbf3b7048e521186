import { describe, expect, it } from 'vitest'
import { MAX_CHUNK_STOCKS, parseChunkJob } from './chunk-job.js'

const valid = {
  task_id: 'calc_1',
  index: 2,
  start: 500,
  codes: ['000001', '600000.SH'],
  source: { kind: 'synthetic', stocks: 5000, days: 250, seed: 42, date: '2026-01-05' },
  indicators: ['SMA_5', 'RSI_14'],
}
const withField = (field: string, value: unknown) => ({ ...valid, [field]: value })
const withSource = (field: string, value: unknown) =>
  withField('source', { ...valid.source, [field]: value })
const csv = { kind: 'csv', path: '/data', days: 250, date: '2026-01-05', dialect: 'auto' }
const postgres = { kind: 'postgres', days: 250, date: '2026-01-05' }

describe('chunk-job', () => {
  it('takes a chunk job as a worker made it', () => {
    expect(parseChunkJob(valid)).toEqual(valid)
    expect(parseChunkJob({ ...valid, source: csv, pace: 50 })).toEqual({
      ...valid,
      source: { ...csv, stocks: undefined },
      pace: 50,
    })
    expect(parseChunkJob({ ...valid, source: postgres, sink: 'postgres' })).toEqual({
      ...valid,
      source: { ...postgres, stocks: undefined },
      sink: 'postgres',
    })
    // No connection string is ever read from a job: the executing worker uses its own.
    expect(
      parseChunkJob({ ...valid, source: { ...postgres, stocks: 10, url: 'postgres://evil/' } }),
    ).toEqual({ ...valid, source: { ...postgres, stocks: 10 } })
  })

  it.each<[string, unknown, string]>([
    ['null', null, 'chunk data is not an object'],
    ['an array', [valid], 'chunk data is not an object'],
    ['a string', JSON.stringify(valid), 'chunk data is not an object'],
    [
      'a task id on the prototype only',
      JSON.parse('{"__proto__":{"task_id":"calc_1"}}'),
      'chunk task_id is not an identifier',
    ],
    ['a path as task id', withField('task_id', '../x'), 'chunk task_id is not an identifier'],
    [
      'a 65-character task id',
      withField('task_id', 'x'.repeat(65)),
      'chunk task_id is not an identifier',
    ],
    ['a negative index', withField('index', -1), 'chunk index is not a count'],
    ['a fractional index', withField('index', 1.5), 'chunk index is not a count'],
    ['an index as text', withField('index', '0'), 'chunk index is not a count'],
    [
      'a start past the largest universe',
      withField('start', 100_001),
      'chunk start is not a count',
    ],
    [
      'no codes',
      withField('codes', []),
      `chunk codes are not 1 to ${MAX_CHUNK_STOCKS} stock codes`,
    ],
    [
      'a numeric code',
      withField('codes', [1]),
      `chunk codes are not 1 to ${MAX_CHUNK_STOCKS} stock codes`,
    ],
    [
      'a code with a space',
      withField('codes', ['a b']),
      `chunk codes are not 1 to ${MAX_CHUNK_STOCKS} stock codes`,
    ],
    [
      'too many codes',
      withField(
        'codes',
        Array.from({ length: MAX_CHUNK_STOCKS + 1 }, (_, i) => `S${i}`),
      ),
      `chunk codes are not 1 to ${MAX_CHUNK_STOCKS} stock codes`,
    ],
    [
      'codes as an object',
      withField('codes', { 0: 'S1', length: 1 }),
      `chunk codes are not 1 to ${MAX_CHUNK_STOCKS} stock codes`,
    ],
    [
      'no indicators',
      withField('indicators', []),
      'chunk indicators are not a list of indicator ids',
    ],
    [
      '65 indicators',
      withField('indicators', Array(65).fill('SMA_5')),
      'chunk indicators are not a list of indicator ids',
    ],
    [
      'an unknown indicator',
      withField('indicators', ['NOPE']),
      "chunk indicators: Unknown indicator id 'NOPE': expected SMA_<n>, EMA_<n>, MACD[_<fast>_<slow>_<signal>], RSI[_<n>], BBANDS[_<n>_<k>], ATR[_<n>] or KDJ[_<n>_<m1>_<m2>]",
    ],
    ['a zero pace', withField('pace', 0), 'chunk pace is not a number of at least 1'],
    [
      'an infinite pace',
      withField('pace', Number.POSITIVE_INFINITY),
      'chunk pace is not a number of at least 1',
    ],
    ['no source', withField('source', null), 'chunk source is not an object'],
    [
      'a mysql source',
      withSource('kind', 'mysql'),
      'chunk source kind is not synthetic, csv or postgres',
    ],
    [
      'postgres with no stocks',
      withField('source', { ...postgres, stocks: 0 }),
      'chunk source stocks is out of range',
    ],
    [
      'postgres on a day that does not exist',
      withField('source', { ...postgres, date: '2026-02-30' }),
      'chunk source date is not YYYY-MM-DD',
    ],
    ['a file sink', withField('sink', 'file'), 'chunk sink is not postgres'],
    ['a sink as an object', withField('sink', { url: 'x' }), 'chunk sink is not postgres'],
    ['zero days', withSource('days', 0), 'chunk source days is out of range'],
    [
      'a date that is not a date',
      withSource('date', "2026-01-05'; DROP"),
      'chunk source date is not YYYY-MM-DD',
    ],
    ['no stocks', withSource('stocks', 0), 'chunk source stocks is out of range'],
    ['a fractional seed', withSource('seed', 1.5), 'chunk source seed is not an integer'],
    [
      'an empty csv path',
      withField('source', { ...csv, path: '' }),
      'chunk source path is not a path',
    ],
    [
      'an unknown csv dialect',
      withField('source', { ...csv, dialect: 'evil' }),
      'chunk source dialect is unknown',
    ],
  ])('refuses %s', (_, data, reason) => {
    expect(parseChunkJob(data)).toBe(reason)
  })
})
