import { DEFAULT_INDICATORS } from '@stockpulse/indicators'
import { describe, expect, it } from 'vitest'
import { parseConfig } from './config.js'
import { ConfigError } from './errors.js'
import { usage } from './options.js'

const context = { cores: 2, hostname: 'box 1', pid: 42 }
const parse = (argv: string[], env: Record<string, string> = {}) => parseConfig(argv, env, context)

describe('config', () => {
  it('has documented defaults and is frozen', () => {
    const config = parse(['run'])
    expect(config).toEqual({
      command: 'run',
      redisUrl: 'redis://127.0.0.1:6379',
      logLevel: 'info',
      keyPrefix: 'stockpulse:',
      cacheTtlSeconds: 86_400,
      resultTtlSeconds: 604_800,
      history: { maxlen: 20_000, runs: 30, retentionSeconds: 86_400, staleTaskSeconds: 120 },
      timeZone: 'Asia/Shanghai',
      job: {
        source: 'synthetic',
        days: 250,
        seed: 42,
        indicators: [...DEFAULT_INDICATORS],
        concurrency: 2,
      },
      run: { json: false },
      serve: {
        scheduleTime: '16:30',
        demo: false,
        heartbeatSeconds: 10,
        instanceId: 'worker-box-1-42',
      },
    })
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.job.indicators)).toBe(true)
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
      WORKER_STALE_TASK_S: '600',
      WORKER_HISTORY_RETENTION_S: '3600',
    }
    const serve = parse(['serve', '--stocks', '10', '--schedule-time', '09:05'], env)
    expect(serve.history).toEqual({
      maxlen: 0,
      runs: 5,
      retentionSeconds: 3_600,
      staleTaskSeconds: 600,
    })
    expect(parse(['serve', '--history-maxlen', '500'], env).history.maxlen).toBe(500)
    expect(parse(['run', '--history-retention', '60'], env).history.retentionSeconds).toBe(60)
    expect(serve.redisUrl).toBe('redis://cache:6380/1')
    expect(serve.job.stocks).toBe(10)
    expect(serve.job.pace).toBe(84.5)
    expect(serve.job.indicators).toEqual(['SMA_5', 'RSI'])
    expect(serve.serve).toMatchObject({ demo: true, scheduleTime: '09:05' })
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
    expect(run.job).toMatchObject({ source: 'csv', dataDir: '/d', stocks: 300 })
    expect(run.run).toEqual({ date: '2026-01-09', out: 'r.csv', json: true })
  })

  it.each([
    [[], {}, 'command', 'expected a command: run or serve'],
    [['start'], {}, 'command', 'unknown command "start": expected run or serve'],
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
    [['run', '--pace=-1'], {}, '--pace', '--pace must be a number > 0, got "-1"'],
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
      ['serve', '--stale-task', 'soon'],
      {},
      '--stale-task',
      '--stale-task must be an integer from 1 to 86400, got "soon"',
    ],
    [
      ['run'],
      { REDIS_URL: 'http://x' },
      'REDIS_URL',
      'REDIS_URL must be a redis:// or rediss:// URL, got "http://x"',
    ],
    [['run', '--source', 'db'], {}, '--source', '--source must be synthetic or csv, got "db"'],
    [
      ['run', '--source', 'csv'],
      {},
      '--data',
      '--source csv needs --data DIR (or WORKER_DATA_DIR)',
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
    [['run', '--out', 'r.txt'], {}, '--out', '--out must end in .jsonl or .csv, got "r.txt"'],
    [
      ['serve', '--schedule-time', '24:00'],
      {},
      '--schedule-time',
      '--schedule-time must be HH:MM (00:00 to 23:59), got "24:00"',
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
      "--indicators: Unknown indicator id 'FOO': expected SMA_<n>, EMA_<n>, MACD[_<fast>_<slow>_<signal>], RSI[_<n>], BBANDS[_<n>_<k>], ATR[_<n>] or KDJ[_<n>_<m1>_<m2>]",
    ],
  ])('rejects %j %j: %s', (argv, env, variable, message) => {
    const error = captureError(() => parse(argv, env))
    expect(error).toBeInstanceOf(ConfigError)
    expect(error).toMatchObject({ name: 'ConfigError', variable, message })
  })

  it('lists every flag with its variable in the usage text', () => {
    const text = usage()
    expect(text).toContain('--redis VALUE')
    expect(text).toContain('[REDIS_URL]')
    expect(text).toContain(
      '--demo                   start one paced job (~60 s) right away (serve only) [WORKER_DEMO]',
    )
  })
})

function captureError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected an error')
}
