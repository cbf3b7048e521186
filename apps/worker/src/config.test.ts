import { readFileSync } from 'node:fs'
import { ConfigError, defaultOf, labelOf, readBlock } from '@stockpulse/config'
import { DEFAULT_INDICATORS } from '@stockpulse/indicators'
import { describe, expect, it } from 'vitest'
import { parseConfig } from './config.js'
import { usage, WORKER_OPTIONS } from './options.js'
import { README_BLOCKS } from './readme.js'

const context = { cores: 2, hostname: 'box 1', pid: 42 }
const parse = (argv: string[], env: Record<string, string> = {}) => parseConfig(argv, env, context)

describe('config', () => {
  it('submits only the run options given, leaving the rest to the serve workers', () => {
    expect(parse(['submit']).run.request).toEqual({})
    expect(parse(['submit', '--days', '90', '--task-id', 'calc_x']).run.request).toEqual({
      days: 90,
      task_id: 'calc_x',
    })
    expect(
      parse(['submit', '--stocks', '10', '--indicators', 'SMA_5,RSI_14'], { WORKER_SEED: '7' }).run
        .request,
    ).toEqual({ stocks: 10, seed: 7, indicators: ['SMA_5', 'RSI_14'] })
    expect(parse(['run', '--days', '90']).run.request).toBeUndefined()
  })

  it('has documented defaults and is frozen', () => {
    const config = parse(['run'])
    expect(config).toEqual({
      command: 'run',
      redisUrl: 'redis://127.0.0.1:6379',
      logLevel: 'info',
      keyPrefix: 'stockpulse:',
      cacheTtlSeconds: 86_400,
      resultTtlSeconds: 604_800,
      history: { maxlen: 20_000, runs: 30, retentionSeconds: 86_400 },
      timeZone: 'Asia/Shanghai',
      job: {
        source: 'synthetic',
        csvDialect: 'auto',
        sink: 'none',
        days: 250,
        seed: 42,
        indicators: [...DEFAULT_INDICATORS],
        concurrency: 2,
      },
      run: { json: false },
      serve: {
        schedule: '30 16 * * 1-5',
        chunkStocks: 250,
        stallTimeoutSeconds: 30,
        demo: false,
        heartbeatSeconds: 10,
        instanceId: 'worker-box-1-42',
      },
    })
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.job.indicators)).toBe(true)
  })

  it('reads the shared settings as the gateway does, an empty variable as unset', () => {
    const config = parse(['run'], {
      KEY_PREFIX: 'staging:',
      WORKER_KEY_PREFIX: 'gone:',
      REDIS_URL: '',
      WORKER_STOCKS: '',
      LOG_LEVEL: 'warn',
    })
    expect(config).toMatchObject({
      keyPrefix: 'staging:',
      logLevel: 'warn',
      redisUrl: 'redis://127.0.0.1:6379',
    })
    expect(config.job.stocks).toBeUndefined()
  })

  it('reads the environment, and flags win over it', () => {
    const env = {
      REDIS_URL: 'redis://cache:6380/1',
      WORKER_STOCKS: '300',
      WORKER_PACE: '84.5',
      WORKER_INDICATORS: 'SMA_5, RSI',
      WORKER_DEMO: 'true',
      WORKER_HISTORY_MAXLEN: '0',
      WORKER_RUN_HISTORY: '5',
      KEY_PREFIX: 'staging:',
      WORKER_HISTORY_RETENTION_S: '3600',
    }
    const serve = parse(
      ['serve', '--stocks', '10', '--schedule', '5 9 * * 1-5', '--stall-timeout', '2.5'],
      env,
    )
    expect(serve.history).toEqual({
      maxlen: 0,
      runs: 5,
      retentionSeconds: 3_600,
    })
    expect(parse(['serve', '--history-maxlen', '500'], env).history.maxlen).toBe(500)
    expect(parse(['run', '--history-retention', '60'], env).history.retentionSeconds).toBe(60)
    expect(serve.redisUrl).toBe('redis://cache:6380/1')
    expect(serve.keyPrefix).toBe('staging:')
    expect(serve.job.stocks).toBe(10)
    expect(serve.job.pace).toBe(84.5)
    expect(serve.job.indicators).toEqual(['SMA_5', 'RSI'])
    expect(serve.serve).toMatchObject({
      demo: true,
      schedule: '5 9 * * 1-5',
      stallTimeoutSeconds: 2.5,
    })
    const run = parse(
      [
        'run',
        '--source',
        'csv',
        '--data',
        '/d',
        '--out',
        'r.csv',
        '--json',
        '--date',
        '2026-01-09',
      ],
      env,
    )
    expect(run.job).toMatchObject({ source: 'csv', dataPath: '/d', stocks: 300 })
    expect(run.run).toEqual({ date: '2026-01-09', out: 'r.csv', json: true })
  })

  it('reads the database settings: tables quoted, the sink on by default with the postgres source', () => {
    const env = { DATABASE_URL: 'postgres://worker@db:5432/market' }
    const config = parse(['run', '--source', 'postgres', '--bars-table', 'market.bars'], env)
    expect(config.database).toEqual({
      url: 'postgres://worker@db:5432/market',
      bars: {
        table: { text: 'market.bars', sql: '"market"."bars"' },
        columns: {
          stock_code: '"stock_code"',
          trade_date: '"trade_date"',
          open: '"open"',
          high: '"high"',
          low: '"low"',
          close: '"close"',
          volume: '"volume"',
        },
        columnNames: {
          stock_code: 'stock_code',
          trade_date: 'trade_date',
          open: 'open',
          high: 'high',
          low: 'low',
          close: 'close',
          volume: 'volume',
        },
      },
      values: { text: 'indicator_values', sql: '"indicator_values"' },
    })
    expect(config.job.sink).toBe('postgres')
    expect(parse(['run', '--source', 'postgres', '--sink', 'none'], env).job.sink).toBe('none')
    expect(parse(['run'], env).job.sink).toBe('none')
    expect(parse(['seed-db', '--date', '2026-01-09'], env).run.date).toBe('2026-01-09')
  })

  it('serves metrics only when METRICS_PORT is set, 0 included', () => {
    expect(parse(['serve']).serve.metrics).toBeUndefined()
    expect(parse(['serve'], { METRICS_PORT: '9464' }).serve.metrics).toEqual({
      port: 9464,
      host: '0.0.0.0',
    })
    expect(
      parse(['serve', '--metrics-port', '0', '--metrics-host', '127.0.0.1']).serve.metrics,
    ).toEqual({ port: 0, host: '127.0.0.1' })
    expect(parse(['run'], { METRICS_PORT: '9464' }).serve.metrics).toEqual({
      port: 9464,
      host: '0.0.0.0',
    })
  })

  it.each([
    [[], {}, 'command', 'expected a command: run, serve, submit, cancel, migrate or seed-db'],
    [
      ['start'],
      {},
      'command',
      'unknown command "start": expected run, serve, submit, cancel, migrate or seed-db',
    ],
    [['serve', '--task-id', 'x'], {}, '--task-id', '--task-id is only for run and submit'],
    [['run', 'extra'], {}, 'command', 'unexpected argument "extra"'],
    [['run', '--nope'], {}, '--nope', 'unknown option --nope; see stockpulse-worker --help'],
    [['run', '--stocks'], {}, '--stocks', '--stocks needs a value'],
    [['run', '--json=yes'], {}, '--json', '--json does not take a value'],
    [['run', '--demo'], {}, '--demo', '--demo is only for serve'],
    [['serve', '--out', 'x.csv'], {}, '--out', '--out is only for run'],
    [
      ['run', '--stocks', '0'],
      {},
      '--stocks',
      '--stocks must be an integer from 1 to 100000, got "0"',
    ],
    [
      ['run'],
      { WORKER_DAYS: '2.5' },
      'WORKER_DAYS',
      'WORKER_DAYS must be an integer from 1 to 20000, got "2.5"',
    ],
    [['run', '--pace=-1'], {}, '--pace', '--pace must be a number of at least 1, got "-1"'],
    [['run', '--pace=0.0001'], {}, '--pace', '--pace must be a number of at least 1, got "0.0001"'],
    [
      ['run', '--history-maxlen=-1'],
      {},
      '--history-maxlen',
      '--history-maxlen must be an integer from 0 to 10000000, got "-1"',
    ],
    [
      ['run', '--history-retention', '59'],
      {},
      '--history-retention',
      '--history-retention must be an integer from 60 to 31536000, got "59"',
    ],
    [
      ['serve'],
      { WORKER_HISTORY_RETENTION_S: '1d' },
      'WORKER_HISTORY_RETENTION_S',
      'WORKER_HISTORY_RETENTION_S must be an integer from 60 to 31536000, got "1d"',
    ],
    [
      ['serve'],
      { WORKER_RUN_HISTORY: '0' },
      'WORKER_RUN_HISTORY',
      'WORKER_RUN_HISTORY must be an integer from 1 to 10000, got "0"',
    ],
    [
      ['serve', '--history-retention', 'soon'],
      {},
      '--history-retention',
      '--history-retention must be an integer from 60 to 31536000, got "soon"',
    ],
    // STALE_TASK_S is the gateway's alone: the worker never judges staleness.
    [
      ['serve', '--stale-task', '60'],
      {},
      '--stale-task',
      'unknown option --stale-task; see stockpulse-worker --help',
    ],
    [
      ['run'],
      { REDIS_URL: 'http://x' },
      'REDIS_URL',
      'REDIS_URL must be a redis:// or rediss:// URL, got "http://x"',
    ],
    [
      ['run', '--source', 'db'],
      {},
      '--source',
      '--source must be one of synthetic, csv, postgres, got "db"',
    ],
    [
      ['run', '--source', 'postgres'],
      {},
      '--database-url',
      '--source postgres needs --database-url URL (or DATABASE_URL)',
    ],
    [['migrate'], {}, '--database-url', 'migrate needs --database-url URL (or DATABASE_URL)'],
    [
      ['seed-db'],
      { DATABASE_URL: 'mysql://db/x' },
      'DATABASE_URL',
      'DATABASE_URL must be a postgres:// or postgresql:// URL, got "mysql://db/x"',
    ],
    [
      ['migrate', '--bars-table', 'daily_bars; DROP TABLE x'],
      { DATABASE_URL: 'postgres://db/x' },
      '--bars-table',
      '--bars-table must be name or schema.name, each lower-case a-z, 0-9 and _, not starting with a digit, at most 63 long, got "daily_bars; DROP TABLE x"',
    ],
    [
      ['migrate'],
      { DATABASE_URL: 'postgres://db/x', BARS_COLUMNS: 'code,Day,o,h,l,c,v' },
      'BARS_COLUMNS',
      'BARS_COLUMNS must be 7 column names (stock_code,trade_date,open,high,low,close,volume), each lower-case a-z, 0-9 and _, not starting with a digit, at most 63 long, got "code,Day,o,h,l,c,v"',
    ],
    [['serve', '--date', '2026-01-09'], {}, '--date', '--date is only for run and seed-db'],
    [
      ['run'],
      { WORKER_SINK: 'postgres' },
      '--database-url',
      '--sink postgres needs --database-url URL (or DATABASE_URL)',
    ],
    [
      ['run', '--source', 'csv'],
      {},
      '--data',
      '--source csv needs --data PATH (or WORKER_DATA_DIR)',
    ],
    [
      ['run'],
      { WORKER_DATA_DIR: '/d' },
      'WORKER_DATA_DIR',
      'WORKER_DATA_DIR is only used with --source csv',
    ],
    [
      ['run', '--date', '2026-02-30'],
      {},
      '--date',
      '--date must be a YYYY-MM-DD date, got "2026-02-30"',
    ],
    [
      ['run', '--task-id', 'a b'],
      {},
      '--task-id',
      '--task-id must be 1-64 characters of A-Z a-z 0-9 _ . -, got "a b"',
    ],
    [
      ['run', '--out', 'r.txt'],
      {},
      '--out',
      '--out must be a file name ending in .jsonl or .csv, got "r.txt"',
    ],
    [
      ['serve', '--schedule', '61 16 * * *'],
      {},
      '--schedule',
      '--schedule must be a cron pattern (5 fields, or 6 with seconds first), got "61 16 * * *"',
    ],
    [
      ['run', '--time-zone', 'Mars/Base'],
      {},
      '--time-zone',
      '--time-zone must be an IANA time zone such as Asia/Shanghai, got "Mars/Base"',
    ],
    [
      ['run'],
      { LOG_LEVEL: 'loud' },
      'LOG_LEVEL',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    ],
    [
      ['serve'],
      { WORKER_DEMO: 'yes' },
      'WORKER_DEMO',
      'WORKER_DEMO must be 1, true, 0 or false, got "yes"',
    ],
    [
      ['run', '--indicators', 'SMA_5,FOO'],
      {},
      '--indicators',
      '--indicators must be a comma-separated list of indicator ids: SMA_<n>, EMA_<n>, MACD[_<fast>_<slow>_<signal>], RSI[_<n>], BBANDS[_<n>_<k>], ATR[_<n>] or KDJ[_<n>_<m1>_<m2>] with periods in range, got "SMA_5,FOO"',
    ],
    [
      ['run', '--indicators', 'SMA_1'],
      {},
      '--indicators',
      '--indicators must be a comma-separated list of indicator ids: SMA_<n>, EMA_<n>, MACD[_<fast>_<slow>_<signal>], RSI[_<n>], BBANDS[_<n>_<k>], ATR[_<n>] or KDJ[_<n>_<m1>_<m2>] with periods in range, got "SMA_1"',
    ],
    [['run', '--data', '/d'], {}, '--data', '--data is only used with --source csv'],
    [
      ['run', '--redis', 'http://user:hunter2@cache'],
      {},
      '--redis',
      '--redis must be a redis:// or rediss:// URL, got "http://user:***@cache"',
    ],
    [
      ['serve'],
      { METRICS_PORT: '65536' },
      'METRICS_PORT',
      'METRICS_PORT must be an integer from 0 to 65535, got "65536"',
    ],
    [['run', '--metrics-port', '9464'], {}, '--metrics-port', '--metrics-port is only for serve'],
  ])('rejects %j %j: %s', (argv, env, variable, message) => {
    const error = captureError(() => parse(argv, env))
    expect(error).toBeInstanceOf(ConfigError)
    expect(error).toMatchObject({ name: 'ConfigError', variable, message })
  })

  it('shows every row in --help and in the README table, with its variable and default', () => {
    const help = usage().split('\n')
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8').split('\n')
    for (const row of Object.values(WORKER_OPTIONS)) {
      const label = labelOf(row)
      const at = help.findIndex((line) => line.startsWith(`  ${label}  `))
      expect(help[at], label).toContain(row.help)
      expect(help[at + 1], label).toContain(`default ${defaultOf(row)}`)
      if (row.env) expect(help[at + 1], label).toContain(`env ${row.env}`)
      // The README sets flags, variables, defaults and <placeholders> as code.
      const line = readme.find((cells) => cells.startsWith(`| \`${label}\` `))
      const words = line?.replaceAll('`', '')
      expect(words, label).toContain(row.help)
      expect(words, label).toContain(`| ${defaultOf(row)} `)
      if (row.env) expect(words, label).toContain(`| ${row.env} `)
    }
    expect(usage()).toContain(
      [
        '  --stocks N             universe size; csv and postgres take the first N codes',
        '                         env WORKER_STOCKS; an integer from 1 to 100000; default 5000 synthetic, every stock for csv and postgres',
        '  --days N               history: synthetic trading days; csv and postgres keep the last N bars up to --date',
        '                         env WORKER_DAYS; an integer from 1 to 20000; default 250',
      ].join('\n'),
    )
  })

  it.each(README_BLOCKS.map((block) => [block.name, block] as const))(
    'README block %s is the table of the rows (run `pnpm docs:config` after a change)',
    (_, block) => {
      expect(readBlock(readFileSync(block.file, 'utf8'), block.name)).toBe(block.content)
    },
  )
})

function captureError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected an error')
}
