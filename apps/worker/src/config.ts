import { availableParallelism, hostname } from 'node:os'
import { parseArgs } from 'node:util'
import { DEFAULT_KEY_PREFIX, DEFAULT_RUN_HISTORY } from '@stockpulse/events'
import { DEFAULT_INDICATORS, resolveIndicators } from '@stockpulse/indicators'
import { epochDay } from './bars.js'
import { ConfigError } from './errors.js'
import { type Command, OPTIONS, type OptionSpec } from './options.js'

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

/** Defaults for every job: the one `run` does, scheduled ones and those started by command. */
export interface JobDefaults {
  readonly source: 'synthetic' | 'csv'
  /** The csv directory; only with source csv. */
  readonly dataDir?: string
  /** Universe size: 5,000 synthetic stocks by default, every file of `dataDir` for csv. */
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
    /** A running task silent this long was lost with its worker and is closed as failed. */
    readonly staleTaskSeconds: number
  }
  /** IANA zone of the market: the schedule and the default job date. */
  readonly timeZone: string
  readonly job: JobDefaults
  /** `run` only. */
  readonly run: {
    readonly taskId?: string
    /** Defaults to today in `timeZone` when the job starts. */
    readonly date?: string
    readonly out?: string
    readonly json: boolean
  }
  /** `serve` only. */
  readonly serve: {
    /** `HH:MM` in `timeZone`. */
    readonly scheduleTime: string
    readonly demo: boolean
    readonly heartbeatSeconds: number
    readonly instanceId: string
  }
}

/** Machine facts the defaults depend on; injectable so tests see fixed values. */
export interface ConfigContext {
  readonly cores: number
  readonly hostname: string
  readonly pid: number
}

type Key = keyof typeof OPTIONS

const LOG_LEVELS: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
]
const ID = /^[A-Za-z0-9_.-]{1,64}$/
const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/

/** Upper bound of `--stocks`, as in the StartTaskCommand contract. */
export const MAX_STOCKS = 100_000
/** Upper bound of `--days`, as in the StartTaskCommand contract. */
export const MAX_DAYS = 20_000
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
  const { values, positionals } = parseFlags(argv)
  const [command, ...extra] = positionals
  if (command !== 'run' && command !== 'serve') {
    throw new ConfigError(
      'command',
      command === undefined
        ? 'expected a command: run or serve'
        : `unknown command ${JSON.stringify(command)}: expected run or serve`,
    )
  }
  if (extra.length > 0) {
    throw new ConfigError('command', `unexpected argument ${JSON.stringify(extra[0])}`)
  }
  for (const [key, spec] of Object.entries(OPTIONS) as [Key, OptionSpec][]) {
    if (spec.only && spec.only !== command && values[key] !== undefined) {
      throw new ConfigError(`--${spec.flag}`, `--${spec.flag} is only for ${spec.only}`)
    }
  }

  // The raw text of an option and the name to blame: the flag, else the variable.
  const raw = (key: Key): { text: string; name: string } | undefined => {
    const spec: OptionSpec = OPTIONS[key]
    const flag = values[key]
    if (typeof flag === 'string') return { text: flag, name: `--${spec.flag}` }
    const fromEnv = spec.env === undefined ? undefined : env[spec.env]
    if (fromEnv === undefined || fromEnv === '') return undefined
    return { text: fromEnv, name: spec.env! }
  }
  const text = (key: Key, fallback: string) => raw(key)?.text ?? fallback
  const integer = (key: Key, fallback: number, min: number, max: number) => {
    const value = raw(key)
    return value === undefined ? fallback : parseInteger(value.text, value.name, min, max)
  }
  const flagOrEnv = (key: Key): boolean => {
    if (values[key] === true) return true
    const spec: OptionSpec = OPTIONS[key]
    const value = spec.env === undefined ? undefined : env[spec.env]
    if (value === undefined || value === '' || value === '0' || value === 'false') return false
    if (value === '1' || value === 'true') return true
    throw new ConfigError(
      spec.env!,
      `${spec.env} must be 1, true, 0 or false, got ${JSON.stringify(value)}`,
    )
  }

  const redisUrl = text('redis', 'redis://127.0.0.1:6379')
  checkRedisUrl(redisUrl, raw('redis')?.name ?? 'REDIS_URL')
  const logLevel = text('logLevel', 'info')
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(
      raw('logLevel')!.name,
      `${raw('logLevel')!.name} must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`,
    )
  }
  const timeZone = text('timeZone', 'Asia/Shanghai')
  checkTimeZone(timeZone, raw('timeZone')?.name ?? '--time-zone')

  const config: WorkerConfig = {
    command,
    redisUrl,
    logLevel: logLevel as LogLevel,
    keyPrefix: text('keyPrefix', DEFAULT_KEY_PREFIX),
    cacheTtlSeconds: integer('cacheTtl', 86_400, 0, 365 * 86_400),
    resultTtlSeconds: integer('resultTtl', 7 * 86_400, 1, 365 * 86_400),
    history: {
      maxlen: integer('historyMaxlen', DEFAULT_HISTORY_MAXLEN, 0, MAX_HISTORY_MAXLEN),
      runs: integer('runHistory', DEFAULT_RUN_HISTORY, 1, MAX_RUN_HISTORY),
      retentionSeconds: integer(
        'historyRetention',
        DEFAULT_HISTORY_RETENTION_S,
        60,
        MAX_HISTORY_RETENTION_S,
      ),
      staleTaskSeconds: integer('staleTask', 120, 1, 86_400),
    },
    timeZone,
    job: jobDefaults(),
    run: {
      ...optional('taskId', raw('taskId'), checkId),
      ...optional('date', raw('date'), checkDate),
      ...optional('out', raw('out'), checkOut),
      json: values.json === true,
    },
    serve: {
      scheduleTime: checkTime(raw('scheduleTime') ?? { text: '16:30', name: '--schedule-time' }),
      demo: flagOrEnv('demo'),
      heartbeatSeconds: integer('heartbeat', 10, 1, 3_600),
      instanceId: checkId(
        raw('instanceId') ?? { text: defaultInstanceId(context), name: '--instance-id' },
      ),
    },
  }
  return deepFreeze(config)

  function jobDefaults(): JobDefaults {
    const source = text('source', 'synthetic')
    if (source !== 'synthetic' && source !== 'csv') {
      const name = raw('source')!.name
      throw new ConfigError(name, `${name} must be synthetic or csv, got ${JSON.stringify(source)}`)
    }
    const data = raw('data')
    if (source === 'csv' && data === undefined) {
      throw new ConfigError('--data', '--source csv needs --data DIR (or WORKER_DATA_DIR)')
    }
    if (source === 'synthetic' && data !== undefined) {
      throw new ConfigError(data.name, `${data.name} is only used with --source csv`)
    }
    const stocks = raw('stocks')
    const pace = raw('pace')
    const indicators = raw('indicators')
    return {
      source,
      ...(data ? { dataDir: data.text } : {}),
      ...(stocks ? { stocks: parseInteger(stocks.text, stocks.name, 1, MAX_STOCKS) } : {}),
      days: integer('days', 250, 1, MAX_DAYS),
      seed: integer('seed', 42, 0, 2 ** 31 - 1),
      indicators: indicators ? checkIndicators(indicators) : [...DEFAULT_INDICATORS],
      concurrency: integer('concurrency', Math.max(1, context.cores), 1, 64),
      ...(pace ? { pace: parsePositive(pace.text, pace.name) } : {}),
    }
  }
}

// ---- Helpers ----

function parseFlags(argv: readonly string[]) {
  const options = Object.fromEntries(
    Object.values(OPTIONS).map((spec) => [spec.flag, { type: spec.type }]),
  ) as Record<string, { type: 'string' | 'boolean' }>
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true })
  } catch (error) {
    const message = (error as Error).message
    const name = /'(-[^' ]+)/.exec(message)?.[1] ?? 'flags'
    if ((error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      throw new ConfigError(name, `unknown option ${name}; see stockpulse-worker --help`)
    }
    throw new ConfigError(
      name,
      message.includes('does not take') ? `${name} does not take a value` : `${name} needs a value`,
    )
  }
  const byFlag = parsed.values as Record<string, string | boolean | undefined>
  const values = Object.fromEntries(
    Object.entries(OPTIONS).map(([key, spec]) => [key, byFlag[spec.flag]]),
  ) as Record<Key, string | boolean | undefined>
  return { values, positionals: parsed.positionals }
}

function parseInteger(text: string, name: string, min: number, max: number): number {
  const value = /^-?\d+$/.test(text) ? Number(text) : Number.NaN
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(
      name,
      `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`,
    )
  }
  return value
}

function parsePositive(text: string, name: string): number {
  const value = text.trim() === '' ? Number.NaN : Number(text)
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigError(name, `${name} must be a number > 0, got ${JSON.stringify(text)}`)
  }
  return value
}

function optional<K extends string>(
  key: K,
  value: { text: string; name: string } | undefined,
  check: (value: { text: string; name: string }) => string,
): { [P in K]?: string } {
  return value === undefined ? {} : ({ [key]: check(value) } as { [P in K]?: string })
}

function checkId({ text, name }: { text: string; name: string }): string {
  if (!ID.test(text)) {
    throw new ConfigError(
      name,
      `${name} must be 1-64 characters of A-Z a-z 0-9 _ . -, got ${JSON.stringify(text)}`,
    )
  }
  return text
}

function checkDate({ text, name }: { text: string; name: string }): string {
  if (epochDay(text) === undefined) {
    throw new ConfigError(name, `${name} must be a YYYY-MM-DD date, got ${JSON.stringify(text)}`)
  }
  return text
}

function checkOut({ text, name }: { text: string; name: string }): string {
  if (!text.endsWith('.jsonl') && !text.endsWith('.csv')) {
    throw new ConfigError(name, `${name} must end in .jsonl or .csv, got ${JSON.stringify(text)}`)
  }
  return text
}

function checkTime({ text, name }: { text: string; name: string }): string {
  if (!TIME.test(text)) {
    throw new ConfigError(
      name,
      `${name} must be HH:MM (00:00 to 23:59), got ${JSON.stringify(text)}`,
    )
  }
  return text
}

function checkTimeZone(zone: string, name: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone })
  } catch {
    throw new ConfigError(
      name,
      `${name} must be an IANA time zone such as Asia/Shanghai, got ${JSON.stringify(zone)}`,
    )
  }
}

function checkRedisUrl(url: string, name: string): void {
  let protocol = ''
  try {
    protocol = new URL(url).protocol
  } catch {}
  if (protocol !== 'redis:' && protocol !== 'rediss:') {
    throw new ConfigError(
      name,
      `${name} must be a redis:// or rediss:// URL, got ${JSON.stringify(url)}`,
    )
  }
}

function checkIndicators({ text, name }: { text: string; name: string }): string[] {
  try {
    return resolveIndicators(text).map((indicator) => indicator.id)
  } catch (error) {
    throw new ConfigError(name, `${name}: ${(error as Error).message}`)
  }
}

function defaultInstanceId(context: ConfigContext): string {
  const host = context.hostname.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 40)
  return `worker-${host}-${context.pid}`
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}
