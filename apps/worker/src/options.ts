/** The two commands of `stockpulse-worker`. */
export type Command = 'run' | 'serve'

/** One option: its flag, its environment variable, where it applies, what it does. */
export interface OptionSpec {
  readonly flag: string
  readonly env?: string
  readonly type: 'string' | 'boolean'
  readonly only?: Command
  readonly help: string
}

/** Every option: its flag, its environment variable, where it applies, and what it does. */
export const OPTIONS = {
  redis: { flag: 'redis', env: 'REDIS_URL', type: 'string', help: 'Redis URL' },
  logLevel: { flag: 'log-level', env: 'LOG_LEVEL', type: 'string', help: 'pino log level' },
  keyPrefix: {
    flag: 'key-prefix',
    env: 'WORKER_KEY_PREFIX',
    type: 'string',
    help: 'prefix of every key the worker writes',
  },
  historyMaxlen: {
    flag: 'history-maxlen',
    env: 'WORKER_HISTORY_MAXLEN',
    type: 'string',
    help: 'events kept per channel for replay (about); 0 turns history off',
  },
  historyRetention: {
    flag: 'history-retention',
    env: 'WORKER_HISTORY_RETENTION_S',
    type: 'string',
    help: 'seconds an event stays in history; idle streams expire after it',
  },
  runHistory: {
    flag: 'run-history',
    env: 'WORKER_RUN_HISTORY',
    type: 'string',
    help: 'finished runs kept in the run history',
  },
  staleTask: {
    flag: 'stale-task',
    env: 'WORKER_STALE_TASK_S',
    type: 'string',
    help: 'seconds after which a silent running task counts as lost',
  },
  cacheTtl: {
    flag: 'cache-ttl',
    env: 'WORKER_CACHE_TTL_S',
    type: 'string',
    help: 'cache entry TTL in seconds; 0 turns the cache off',
  },
  resultTtl: {
    flag: 'result-ttl',
    env: 'WORKER_RESULT_TTL_S',
    type: 'string',
    help: 'TTL of the results hash of a task, in seconds',
  },
  timeZone: {
    flag: 'time-zone',
    env: 'WORKER_TIME_ZONE',
    type: 'string',
    help: 'market time zone: the schedule and the default date',
  },
  source: { flag: 'source', env: 'WORKER_SOURCE', type: 'string', help: 'synthetic or csv' },
  data: {
    flag: 'data',
    env: 'WORKER_DATA_DIR',
    type: 'string',
    help: 'csv directory: one <code>.csv per stock',
  },
  stocks: { flag: 'stocks', env: 'WORKER_STOCKS', type: 'string', help: 'universe size' },
  days: {
    flag: 'days',
    env: 'WORKER_DAYS',
    type: 'string',
    help: 'synthetic history in trading days',
  },
  seed: { flag: 'seed', env: 'WORKER_SEED', type: 'string', help: 'synthetic seed' },
  indicators: {
    flag: 'indicators',
    env: 'WORKER_INDICATORS',
    type: 'string',
    help: 'comma-separated indicator ids',
  },
  concurrency: {
    flag: 'concurrency',
    env: 'WORKER_CONCURRENCY',
    type: 'string',
    help: 'compute threads for large universes',
  },
  pace: {
    flag: 'pace',
    env: 'WORKER_PACE',
    type: 'string',
    help: 'at most this many stocks per second (demos)',
  },
  date: { flag: 'date', type: 'string', only: 'run', help: 'job date YYYY-MM-DD' },
  taskId: { flag: 'task-id', type: 'string', only: 'run', help: 'task id' },
  out: { flag: 'out', type: 'string', only: 'run', help: 'write results to a .jsonl or .csv file' },
  json: { flag: 'json', type: 'boolean', only: 'run', help: 'print the summary as one JSON line' },
  scheduleTime: {
    flag: 'schedule-time',
    env: 'WORKER_SCHEDULE_TIME',
    type: 'string',
    only: 'serve',
    help: 'daily run time HH:MM',
  },
  demo: {
    flag: 'demo',
    env: 'WORKER_DEMO',
    type: 'boolean',
    only: 'serve',
    help: 'start one paced job (~60 s) right away',
  },
  heartbeat: {
    flag: 'heartbeat',
    env: 'WORKER_HEARTBEAT_S',
    type: 'string',
    only: 'serve',
    help: 'seconds between heartbeats',
  },
  instanceId: {
    flag: 'instance-id',
    env: 'WORKER_INSTANCE_ID',
    type: 'string',
    only: 'serve',
    help: 'instance id in heartbeats',
  },
} as const satisfies Record<string, OptionSpec>

/** `stockpulse-worker --help`. */
export function usage(): string {
  const rows = (Object.values(OPTIONS) as OptionSpec[]).map((spec) => {
    const flag = `--${spec.flag}${spec.type === 'string' ? ' VALUE' : ''}`
    const env = spec.env ? ` [${spec.env}]` : ''
    const only = spec.only ? ` (${spec.only} only)` : ''
    return `  ${flag.padEnd(24)} ${spec.help}${only}${env}`
  })
  return [
    'Usage: stockpulse-worker run [options]     one job, then exit',
    '       stockpulse-worker serve [options]   daily schedule, commands, heartbeats',
    '',
    'Options (environment variable in brackets; flags win):',
    ...rows,
    '',
  ].join('\n')
}
