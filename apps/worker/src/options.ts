import { accepts, defineOptions, option, optionHelp, SHARED_OPTIONS } from '@stockpulse/config'
import { DEFAULT_RUN_HISTORY, IDENTIFIER, IDENTIFIER_TEXT, MIN_PACE } from '@stockpulse/events'
import { DEFAULT_INDICATORS, resolveIndicators } from '@stockpulse/indicators'
import { CronExpressionParser } from 'cron-parser'
import { epochDay } from './bars.js'
import { CSV_DIALECTS } from './csv-dialects.js'
import { MAX_DAYS, MAX_STOCKS } from './limits.js'

/** The commands of `stockpulse-worker`. */
export type Command = 'run' | 'serve' | 'submit' | 'cancel' | 'migrate' | 'seed-db'
export const COMMANDS: readonly Command[] = [
  'run',
  'serve',
  'submit',
  'cancel',
  'migrate',
  'seed-db',
]

/** The fleet's run schedule when nothing else is configured: weekdays at 16:30. */
export const DEFAULT_SCHEDULE = '30 16 * * 1-5'
/** Events kept per channel stream when nothing else is configured. */
export const DEFAULT_HISTORY_MAXLEN = 20_000
/** Upper bound of `--history-maxlen`. */
export const MAX_HISTORY_MAXLEN = 10_000_000
/** Seconds of history kept when nothing else is configured: a day, for clients resuming. */
export const DEFAULT_HISTORY_RETENTION_S = 86_400
/** Upper bound of `--history-retention`: a year. */
export const MAX_HISTORY_RETENTION_S = 31_536_000
/** Upper bound of `--run-history`. */
export const MAX_RUN_HISTORY = 10_000

const YEAR_S = 365 * 86_400

/** Every option of the worker, one row each: `--help`, the README tables and `parseConfig` read them. */
export const WORKER_OPTIONS = defineOptions({
  ...SHARED_OPTIONS,
  historyMaxlen: option.integer({
    flag: 'history-maxlen',
    env: 'WORKER_HISTORY_MAXLEN',
    default: DEFAULT_HISTORY_MAXLEN,
    min: 0,
    max: MAX_HISTORY_MAXLEN,
    help: 'events kept per channel stream (about: MAXLEN ~); 0 turns history off',
  }),
  historyRetention: option.integer({
    flag: 'history-retention',
    env: 'WORKER_HISTORY_RETENTION_S',
    default: DEFAULT_HISTORY_RETENTION_S,
    min: 60,
    max: MAX_HISTORY_RETENTION_S,
    placeholder: 'S',
    help: 'seconds an event stays in its streams; an idle stream expires after it',
  }),
  runHistory: option.integer({
    flag: 'run-history',
    env: 'WORKER_RUN_HISTORY',
    default: DEFAULT_RUN_HISTORY,
    min: 1,
    max: MAX_RUN_HISTORY,
    help: 'finished runs kept in {prefix}runs',
  }),
  cacheTtl: option.integer({
    flag: 'cache-ttl',
    env: 'WORKER_CACHE_TTL_S',
    default: 86_400,
    min: 0,
    max: YEAR_S,
    placeholder: 'S',
    help: 'indicator cache entry TTL in seconds; 0 turns the cache off',
  }),
  resultTtl: option.integer({
    flag: 'result-ttl',
    env: 'WORKER_RESULT_TTL_S',
    default: 7 * 86_400,
    min: 1,
    max: YEAR_S,
    placeholder: 'S',
    help: 'TTL of the results hash of a task, in seconds',
  }),
  timeZone: option.string({
    flag: 'time-zone',
    env: 'WORKER_TIME_ZONE',
    default: 'Asia/Shanghai',
    valid: isTimeZone,
    expected: 'an IANA time zone such as Asia/Shanghai',
    placeholder: 'TZ',
    help: 'market time zone: the schedule and the default job date',
  }),
  source: option.oneOf({
    flag: 'source',
    env: 'WORKER_SOURCE',
    values: ['synthetic', 'csv', 'postgres'],
    default: 'synthetic',
    help: 'where bars come from',
  }),
  data: option.string({
    flag: 'data',
    env: 'WORKER_DATA_DIR',
    placeholder: 'PATH',
    help: 'csv directory (one <code>.csv per stock) or one file with a code column; needed by and only allowed with --source csv',
  }),
  csvDialect: option.oneOf({
    flag: 'csv-dialect',
    env: 'WORKER_CSV_DIALECT',
    values: CSV_DIALECTS,
    default: 'auto',
    help: 'how csv files are read: auto (from each header), or the one dialect they all use; only with --source csv',
  }),
  stocks: option.integer({
    flag: 'stocks',
    env: 'WORKER_STOCKS',
    min: 1,
    max: MAX_STOCKS,
    defaultText: '5000 synthetic, every stock for csv and postgres',
    help: 'universe size; csv and postgres take the first N codes',
  }),
  days: option.integer({
    flag: 'days',
    env: 'WORKER_DAYS',
    default: 250,
    min: 1,
    max: MAX_DAYS,
    help: 'history: synthetic trading days; csv and postgres keep the last N bars up to --date',
  }),
  seed: option.integer({
    flag: 'seed',
    env: 'WORKER_SEED',
    default: 42,
    min: 0,
    max: 2 ** 31 - 1,
    help: 'synthetic seed',
  }),
  indicators: option.list({
    flag: 'indicators',
    env: 'WORKER_INDICATORS',
    default: DEFAULT_INDICATORS,
    valid: areIndicators,
    expected:
      'a comma-separated list of indicator ids: SMA_<n>, EMA_<n>, MACD[_<fast>_<slow>_<signal>], RSI[_<n>], BBANDS[_<n>_<k>], ATR[_<n>] or KDJ[_<n>_<m1>_<m2>] with periods in range',
    help: 'indicator ids (see @stockpulse/indicators)',
  }),
  concurrency: option.integer({
    flag: 'concurrency',
    env: 'WORKER_CONCURRENCY',
    min: 1,
    max: 64,
    defaultText: 'cores (os.availableParallelism())',
    help: 'compute threads for universes of 500+ stocks; with 1, run computes on its main thread (serve always on threads)',
  }),
  pace: option.number({
    flag: 'pace',
    env: 'WORKER_PACE',
    min: MIN_PACE,
    defaultText: 'unpaced',
    help: 'at most this many stocks per second, for demos',
  }),
  date: option.string({
    flag: 'date',
    valid: (text) => epochDay(text) !== undefined,
    expected: 'a YYYY-MM-DD date',
    placeholder: 'YYYY-MM-DD',
    defaultText: 'today in --time-zone',
    help: 'run and seed-db only: job date (synthetic calendar end, csv and postgres bars kept up to it)',
  }),
  taskId: option.string({
    flag: 'task-id',
    pattern: IDENTIFIER,
    expected: IDENTIFIER_TEXT,
    placeholder: 'ID',
    defaultText: 'calc_<epoch ms>_<4 hex>',
    help: 'run and submit only: task id',
  }),
  out: option.string({
    flag: 'out',
    only: 'run',
    valid: (text) => text.endsWith('.jsonl') || text.endsWith('.csv'),
    expected: 'a file name ending in .jsonl or .csv',
    placeholder: 'FILE',
    help: 'also write the results to this .jsonl or .csv file',
  }),
  json: option.boolean({
    flag: 'json',
    only: 'run',
    help: 'print the summary as one JSON line',
  }),
  sink: option.oneOf({
    flag: 'sink',
    env: 'WORKER_SINK',
    values: ['postgres', 'none'],
    defaultText: 'postgres with --source postgres, else none',
    help: 'where indicator values are stored besides Redis: postgres upserts them into --values-table',
  }),
  schedule: option.string({
    flag: 'schedule',
    env: 'WORKER_SCHEDULE',
    only: 'serve',
    default: DEFAULT_SCHEDULE,
    valid: (text) => accepts(() => CronExpressionParser.parse(text)),
    expected: 'a cron pattern (5 fields, or 6 with seconds first)',
    placeholder: 'CRON',
    help: "the fleet's run schedule in --time-zone (one BullMQ job scheduler for every worker)",
  }),
  chunkStocks: option.integer({
    flag: 'chunk-stocks',
    env: 'WORKER_CHUNK_STOCKS',
    only: 'serve',
    default: 250,
    min: 1,
    max: 10_000,
    help: 'stocks per chunk job when this worker starts a run',
  }),
  stallTimeout: option.number({
    flag: 'stall-timeout',
    env: 'WORKER_STALL_TIMEOUT_S',
    only: 'serve',
    default: 30,
    min: 1,
    max: 3_600,
    placeholder: 'S',
    help: "a chunk whose worker is silent this long goes to another worker (BullMQ's lock and stall check)",
  }),
  demo: option.boolean({
    flag: 'demo',
    env: 'WORKER_DEMO',
    only: 'serve',
    help: 'start one job now, paced to about 60 s on one worker (the pace is per worker: N workers take about 60/N s) unless --pace says otherwise',
  }),
  heartbeat: option.integer({
    flag: 'heartbeat',
    env: 'WORKER_HEARTBEAT_S',
    only: 'serve',
    default: 10,
    min: 1,
    max: 3_600,
    placeholder: 'S',
    help: 'seconds between heartbeats',
  }),
  instanceId: option.string({
    flag: 'instance-id',
    env: 'WORKER_INSTANCE_ID',
    only: 'serve',
    pattern: IDENTIFIER,
    expected: IDENTIFIER_TEXT,
    placeholder: 'ID',
    defaultText: 'worker-<hostname>-<pid>',
    help: 'instance id in heartbeats',
  }),
  metricsPort: option.integer({
    flag: 'metrics-port',
    env: 'METRICS_PORT',
    only: 'serve',
    min: 0,
    max: 65_535,
    defaultText: 'off',
    help: 'Prometheus /metrics and /healthz on this port (0 picks a free one, logged)',
  }),
  metricsHost: option.string({
    flag: 'metrics-host',
    env: 'METRICS_HOST',
    only: 'serve',
    default: '0.0.0.0',
    placeholder: 'HOST',
    help: 'address the metrics port listens on',
  }),
})

/** `stockpulse-worker --help`: the commands, then every option with its variable and default. */
export function usage(): string {
  return [
    'Usage: stockpulse-worker run [options]            one job in this process, then exit',
    '       stockpulse-worker serve [options]          take chunks of queued runs; the schedule, heartbeats',
    '       stockpulse-worker submit [options]         queue a run for the serve workers, print its task id',
    '       stockpulse-worker cancel <task_id> [opts]  cancel a queued or running run',
    '       stockpulse-worker migrate [options]  create the PostgreSQL tables (idempotent)',
    '       stockpulse-worker seed-db [options]  fill the bars table with synthetic bars',
    '',
    'Options (flags win over environment variables, which win over defaults):',
    optionHelp(WORKER_OPTIONS),
    '',
  ].join('\n')
}

// ---- Helpers ----

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

function areIndicators(ids: readonly string[]): boolean {
  try {
    resolveIndicators(ids)
    return true
  } catch {
    return false
  }
}
