import { availableParallelism, hostname } from 'node:os'
import {
  type BarsTableNames,
  barsTableNames,
  ConfigError,
  deepFreeze,
  type LogLevel,
  type OptionValues,
  type Origins,
  parseCommandLine,
  type TableName,
  tableName,
} from '@stockpulse/config'
import type { RunRequest } from '@stockpulse/events'
import { resolveIndicators } from '@stockpulse/indicators'
import { COMMANDS, type Command, WORKER_OPTIONS } from './options.js'

export type { LogLevel }

/** Defaults for every job: the one `run` does, scheduled ones and those started by command. */
export interface JobDefaults {
  readonly source: WorkerValues['source']
  /** The csv directory, or one long file; only with source csv. */
  readonly dataPath?: string
  /** How csv headers are read; `auto` with other sources. */
  readonly csvDialect: WorkerValues['csvDialect']
  /** Where indicator values are stored besides Redis: `postgres` by default with that source. */
  readonly sink: 'postgres' | 'none'
  /** Universe size: 5,000 synthetic stocks by default, every stock of the csv. */
  readonly stocks?: number
  readonly days: number
  readonly seed: number
  readonly indicators: readonly string[]
  readonly concurrency: number
  /** Stocks per second at most; as fast as possible when undefined. */
  readonly pace?: number
}

/** The worker's whole configuration, parsed once from flags and environment, frozen. */
export interface WorkerConfig {
  readonly command: Command
  readonly redisUrl: string
  readonly logLevel: LogLevel
  readonly keyPrefix: string
  /** 0 turns the cache off. */
  readonly cacheTtlSeconds: number
  readonly resultTtlSeconds: number
  /** Redis mode: each published event also gets a position in each of its channels. */
  readonly history: {
    /** Approximate cap of each channel's stream; 0 turns history off (plain PUBLISH, no positions). */
    readonly maxlen: number
    /** Finished runs kept, newest first. */
    readonly runs: number
    /** Seconds an event stays in its streams; a stream without new events expires after this. */
    readonly retentionSeconds: number
  }
  /** IANA zone of the market: the schedule and the default job date. */
  readonly timeZone: string
  /** PostgreSQL: present when a URL is configured (needed by the postgres source and sink). */
  readonly database?: DatabaseConfig
  readonly job: JobDefaults
  /** `run` only (`taskId` also for `submit`, and the run `cancel` names). */
  readonly run: {
    readonly taskId?: string
    /** Defaults to today in `timeZone` when the job starts. */
    readonly date?: string
    readonly out?: string
    readonly json: boolean
    /** `submit` only: the run options given on its command line or in its environment. */
    readonly request?: RunRequest
  }
  /** `serve` only. */
  readonly serve: {
    /** Cron pattern of the fleet's runs, in `timeZone` (a BullMQ job scheduler). */
    readonly schedule: string
    /** Stocks per chunk job of the runs this worker starts. */
    readonly chunkStocks: number
    /** Seconds a chunk's lock lasts without renewal before another worker takes the chunk. */
    readonly stallTimeoutSeconds: number
    readonly demo: boolean
    readonly heartbeatSeconds: number
    readonly instanceId: string
    /** `/metrics` and `/healthz` listen here; undefined: not at all. */
    readonly metrics?: { readonly port: number; readonly host: string }
  }
}

/** Where the worker's PostgreSQL tables are. */
export interface DatabaseConfig {
  readonly url: string
  readonly bars: BarsTableNames
  readonly values: TableName
}

/** Machine facts the defaults depend on; injectable so tests see fixed values. */
export interface ConfigContext {
  readonly cores: number
  readonly hostname: string
  readonly pid: number
}

type WorkerValues = OptionValues<typeof WORKER_OPTIONS>

/**
 * Parses `argv` (without node and the script) and `env` into a frozen WorkerConfig. Flags win
 * over environment variables, which win over defaults. Throws ConfigError naming the bad flag or
 * variable.
 */
export function parseConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  context: ConfigContext = {
    cores: availableParallelism(),
    hostname: hostname(),
    pid: process.pid,
  },
): WorkerConfig {
  const { command, values, origins } = parseCommandLine(WORKER_OPTIONS, {
    argv,
    env,
    commands: COMMANDS,
    program: 'stockpulse-worker',
  })
  if (origins.date !== undefined && command !== 'run' && command !== 'seed-db') {
    throw new ConfigError(origins.date, `${origins.date} is only for run and seed-db`)
  }
  if (origins.taskId !== undefined && !['run', 'submit', 'cancel'].includes(command)) {
    throw new ConfigError(origins.taskId, `${origins.taskId} is only for run and submit`)
  }
  const job = jobDefaults(values, origins, context)
  const database = databaseConfig(values, command, job)
  const config: WorkerConfig = {
    command,
    redisUrl: values.redisUrl,
    logLevel: values.logLevel,
    keyPrefix: values.keyPrefix,
    cacheTtlSeconds: values.cacheTtl,
    resultTtlSeconds: values.resultTtl,
    history: {
      maxlen: values.historyMaxlen,
      runs: values.runHistory,
      retentionSeconds: values.historyRetention,
    },
    timeZone: values.timeZone,
    ...(database ? { database } : {}),
    job,
    run: {
      ...(values.taskId === undefined ? {} : { taskId: values.taskId }),
      ...(values.date === undefined ? {} : { date: values.date }),
      ...(values.out === undefined ? {} : { out: values.out }),
      json: values.json,
      ...(command === 'submit' ? { request: submitted(values, origins, job) } : {}),
    },
    serve: {
      schedule: values.schedule,
      chunkStocks: values.chunkStocks,
      stallTimeoutSeconds: values.stallTimeout,
      demo: values.demo,
      heartbeatSeconds: values.heartbeat,
      instanceId: values.instanceId ?? defaultInstanceId(context),
      ...(values.metricsPort === undefined
        ? {}
        : { metrics: { port: values.metricsPort, host: values.metricsHost } }),
    },
  }
  return deepFreeze(config)
}

// ---- Helpers ----

// The job's options, with the rules that join two of them.
function jobDefaults(
  values: WorkerValues,
  origins: Origins<typeof WORKER_OPTIONS>,
  context: ConfigContext,
): JobDefaults {
  const { source, data } = values
  if (source === 'csv' && data === undefined) {
    throw new ConfigError('--data', '--source csv needs --data PATH (or WORKER_DATA_DIR)')
  }
  for (const from of [origins.data, origins.csvDialect]) {
    if (source !== 'csv' && from !== undefined) {
      throw new ConfigError(from, `${from} is only used with --source csv`)
    }
  }
  return {
    source,
    ...(data === undefined ? {} : { dataPath: data }),
    csvDialect: values.csvDialect,
    sink: values.sink ?? (source === 'postgres' ? 'postgres' : 'none'),
    ...(values.stocks === undefined ? {} : { stocks: values.stocks }),
    days: values.days,
    seed: values.seed,
    indicators: resolveIndicators(values.indicators).map((indicator) => indicator.id),
    concurrency: values.concurrency ?? Math.max(1, context.cores),
    ...(values.pace === undefined ? {} : { pace: values.pace }),
  }
}

// What `submit` asks for: only the run options given (flag or variable); the rest is left to the
// serve workers' own configuration, never this shell's defaults.
function submitted(
  values: WorkerValues,
  origins: Origins<typeof WORKER_OPTIONS>,
  job: JobDefaults,
): RunRequest {
  return {
    ...(origins.stocks === undefined || job.stocks === undefined ? {} : { stocks: job.stocks }),
    ...(origins.days === undefined ? {} : { days: job.days }),
    ...(origins.seed === undefined ? {} : { seed: job.seed }),
    ...(origins.indicators === undefined ? {} : { indicators: [...job.indicators] }),
    ...(values.taskId === undefined ? {} : { task_id: values.taskId }),
  }
}

// The database settings, required by whatever uses PostgreSQL.
function databaseConfig(
  values: WorkerValues,
  command: Command,
  job: JobDefaults,
): DatabaseConfig | undefined {
  const user =
    command === 'migrate' || command === 'seed-db'
      ? command
      : job.source === 'postgres'
        ? '--source postgres'
        : job.sink === 'postgres'
          ? '--sink postgres'
          : undefined
  if (values.databaseUrl === undefined) {
    if (user === undefined) return undefined
    throw new ConfigError('--database-url', `${user} needs --database-url URL (or DATABASE_URL)`)
  }
  return {
    url: values.databaseUrl,
    bars: barsTableNames(values.barsTable, values.barsColumns),
    values: tableName(values.valuesTable),
  }
}

function defaultInstanceId(context: ConfigContext): string {
  const host = context.hostname.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 40)
  return `worker-${host}-${context.pid}`
}
