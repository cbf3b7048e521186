import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/** How a run ended: the `status` of its `task.completed`. */
export type RunStatus = 'completed' | 'cancelled' | 'failed'
export const RUN_STATUSES: readonly RunStatus[] = ['completed', 'cancelled', 'failed']

/** The `indicator` label of an indicator outside the configured set (one a command asked for). */
export const OTHER_INDICATOR = 'other'

/** Prefix of every worker metric, process metrics included. */
export const WORKER_METRICS_PREFIX = 'stockpulse_worker_'

/** Upper bounds of the run duration histogram, in seconds: a few seconds to two hours. */
export const RUN_DURATION_BUCKETS = [1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200]

export interface WorkerMetricsOptions {
  /** The configured indicator ids: the only values of the `indicator` label besides `other`. */
  readonly indicators: readonly string[]
  readonly now?: () => Date
}

/**
 * The worker's Prometheus metrics: a registry of its own (tests run several workers in one
 * process) and one call per thing that happens. Labels are bounded: `status` is a RunStatus,
 * `indicator` a configured id or `other`; no stock code or task id ever becomes a label.
 */
export interface WorkerMetrics {
  readonly registry: Registry
  /** A run began: counted, and its start time shown until it finishes. */
  runStarted(): void
  /** The running run's size and the stocks of it published so far. */
  runProgress(processed: number, total: number): void
  /** A run ended; `completed` also moves the last-success timestamp. */
  runFinished(status: RunStatus, seconds: number): void
  /** Stocks published, and how many of them had at least one failure. */
  stocks(processed: number, failed: number): void
  /** An indicator failed for one stock. */
  indicatorFailed(id: string): void
  /** Time spent loading and computing stocks, summed over threads. */
  computeSeconds(seconds: number): void
  /** Threads computing now: the pool's size, or 1 on the main thread. */
  computeThreads(threads: number): void
  eventsPublished(count: number): void
  /** Events at least one of whose channel messages did not get through (the bus was down). */
  eventsDropped(count: number): void
  /** A chunk of a run was tried again after it failed. */
  chunkRetried(): void
  /** A chunk's worker went silent and the chunk was taken over. */
  chunkStalled(): void
  /** A queue job refused: data that can never run, or a run job its run's flow did not make. */
  invalidJob(): void
  /** When the schedule last came due and when it comes due next; undefined: no schedule. */
  schedule(last: Date | undefined, next: Date | undefined): void
}

export function createWorkerMetrics(options: WorkerMetricsOptions): WorkerMetrics {
  const { now = () => new Date() } = options
  const known = new Set(options.indicators)
  const registry = new Registry()
  const registers = [registry]
  const name = (suffix: string) => `${WORKER_METRICS_PREFIX}${suffix}`
  collectDefaultMetrics({ register: registry, prefix: WORKER_METRICS_PREFIX })

  const runsStarted = new Counter({
    name: name('runs_started_total'),
    help: 'Runs started (by the schedule, a command, --demo or `run`)',
    registers,
  })
  const runsFinished = new Counter({
    name: name('runs_finished_total'),
    help: 'Runs finished, by status (completed, cancelled, failed)',
    labelNames: ['status'],
    registers,
  })
  const runDuration = new Histogram({
    name: name('run_duration_seconds'),
    help: 'Wall time of finished runs, by status',
    labelNames: ['status'],
    buckets: RUN_DURATION_BUCKETS,
    registers,
  })
  const lastRunDuration = gauge('last_run_duration_seconds', 'Wall time of the last finished run')
  const lastSuccess = gauge(
    'last_success_timestamp_seconds',
    'Unix time the last completed run ended; 0 before the first one in this process',
  )
  const currentStart = gauge(
    'current_run_start_timestamp_seconds',
    'Unix time the running run started; 0 when idle',
  )
  const currentStocks = gauge(
    'current_run_stocks',
    'Stocks in the running run (known once its first stock is out); 0 when idle',
  )
  const currentProcessed = gauge(
    'current_run_stocks_processed',
    'Stocks of the running run published so far; 0 when idle',
  )
  const stocksProcessed = counter('stocks_processed_total', 'Stocks published, failed ones too')
  const stocksFailed = counter('stocks_failed_total', 'Stocks with at least one failure')
  const indicatorFailures = new Counter({
    name: name('indicator_failures_total'),
    help: 'Indicator failures, by indicator id (configured ids; others are `other`)',
    labelNames: ['indicator'],
    registers,
  })
  const computeSeconds = counter(
    'compute_seconds_total',
    'Seconds spent loading and computing stocks, summed over compute threads',
  )
  const computeThreads = gauge(
    'compute_threads',
    'Threads computing the last or running run (1: the main thread)',
  )
  const published = counter('events_published_total', 'Events handed to Redis or the bus')
  const dropped = counter(
    'events_dropped_total',
    'Events not delivered to Redis (publish errors while it was unreachable)',
  )
  const chunkRetries = counter('chunk_retries_total', 'Chunks of a run tried again after a failure')
  const chunkStalls = counter('chunk_stalls_total', 'Chunks taken over from a silent worker')
  const invalidJobs = counter(
    'invalid_jobs_total',
    "Queue jobs refused: data that can never run, or a run job its run's flow did not make",
  )
  const lastScheduled = gauge(
    'last_scheduled_run_timestamp_seconds',
    'Unix time the schedule last came due (whether or not a run started); 0 without a schedule',
  )
  const nextScheduled = gauge(
    'next_scheduled_run_timestamp_seconds',
    'Unix time the schedule comes due next; 0 without a schedule',
  )

  // Every label value exists from the start, so rate() and increase() see the first event.
  for (const status of RUN_STATUSES) {
    runsFinished.inc({ status }, 0)
    runDuration.zero({ status })
  }
  for (const indicator of [...known, OTHER_INDICATOR]) indicatorFailures.inc({ indicator }, 0)

  return {
    registry,
    runStarted() {
      runsStarted.inc()
      currentStart.set(seconds(now()))
      currentStocks.set(0)
      currentProcessed.set(0)
    },
    runProgress(processed, total) {
      currentProcessed.set(processed)
      currentStocks.set(total)
    },
    runFinished(status, duration) {
      runsFinished.inc({ status })
      runDuration.observe({ status }, duration)
      lastRunDuration.set(duration)
      if (status === 'completed') lastSuccess.set(seconds(now()))
      currentStart.set(0)
      currentStocks.set(0)
      currentProcessed.set(0)
    },
    stocks(processed, failed) {
      stocksProcessed.inc(processed)
      stocksFailed.inc(failed)
    },
    indicatorFailed(id) {
      indicatorFailures.inc({ indicator: known.has(id) ? id : OTHER_INDICATOR })
    },
    computeSeconds: (value) => computeSeconds.inc(value),
    computeThreads: (threads) => computeThreads.set(threads),
    eventsPublished: (count) => published.inc(count),
    eventsDropped: (count) => dropped.inc(count),
    chunkRetried: () => chunkRetries.inc(),
    chunkStalled: () => chunkStalls.inc(),
    invalidJob: () => invalidJobs.inc(),
    schedule(last, next) {
      lastScheduled.set(last ? seconds(last) : 0)
      nextScheduled.set(next ? seconds(next) : 0)
    },
  }

  function gauge(suffix: string, help: string): Gauge {
    return new Gauge({ name: name(suffix), help, registers })
  }

  function counter(suffix: string, help: string): Counter {
    return new Counter({ name: name(suffix), help, registers })
  }
}

/** A publisher's `onEvent` that counts into `metrics`. */
export function countEvents(metrics: WorkerMetrics): (outcome: 'published' | 'dropped') => void {
  return (outcome) => {
    if (outcome === 'published') metrics.eventsPublished(1)
    else metrics.eventsDropped(1)
  }
}

function seconds(date: Date): number {
  return date.getTime() / 1000
}
