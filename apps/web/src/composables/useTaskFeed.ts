import {
  type StockIndicatorsCompletedEvent,
  type TaskCompletedEvent,
  taskChannel,
} from '@stockpulse/events'
import {
  type ComputedRef,
  computed,
  type MaybeRefOrGetter,
  onScopeDispose,
  type Ref,
  ref,
  type ShallowRef,
  shallowRef,
  toValue,
  watch,
} from 'vue'
import type { UseEventStreamReturn } from './useEventStream'
import { applyTaskEvent, type TaskView } from './useTasks'

export type FeedFilter = 'all' | 'failed'

/**
 * How much of the task the feed holds: `loading` until the gateway answered, `whole` when it
 * replayed the task's channel from its first event or the feed saw the task start (its progress
 * at 0), `partial` otherwise (the history expired or was trimmed, or the gateway keeps none):
 * only what came since the page opened.
 */
export type FeedCoverage = 'loading' | 'whole' | 'partial'

/** Why a stock, or one indicator of it, failed. */
export interface FailureRow {
  readonly stock_code: string
  readonly indicator?: string
  readonly reason: string
}

/** Chart series in uPlot's column layout. */
export interface FeedCharts {
  /** Start of each bucket in seconds since the first stock, and the stocks per second in it. */
  readonly throughput: [number[], number[]]
  /** Width of a throughput bucket in seconds: under 1 for short tasks, so a 3 s job still draws a line. */
  readonly bucketSeconds: number
  /** Calc-time bin number and stocks in it; bin i holds `calcTimeEdges[i] <= ms < [i + 1]`. */
  readonly calcTime: [number[], number[]]
  /** Bin edges in ms on a 1-1.5-2-3-5-7 log scale; the first and last bins are open-ended. */
  readonly calcTimeEdges: number[]
}

/** Totals over the rows, kept as they arrive. */
export interface FeedSummary {
  readonly stocks: number
  readonly meanCalcMs: number
  readonly cacheHits: number
}

export interface UseTaskFeedOptions {
  /** Charts are recomputed at most this often while stocks stream in. */
  chartIntervalMs?: number
}

export interface UseTaskFeedReturn {
  /** One row per stock, in arrival order; a repeated stock replaces its row. */
  readonly rows: Readonly<ShallowRef<readonly StockIndicatorsCompletedEvent[]>>
  /** The rows of stocks with at least one failed indicator. */
  readonly failedRows: Readonly<ShallowRef<readonly StockIndicatorsCompletedEvent[]>>
  readonly summary: Readonly<ShallowRef<FeedSummary>>
  /** `rows` after `filter` and `search`. */
  readonly visible: ComputedRef<readonly StockIndicatorsCompletedEvent[]>
  readonly filter: Ref<FeedFilter>
  /** Case-insensitive part of a stock code. */
  readonly search: Ref<string>
  /** From each stock's `errors` and the task's `result.failures`, one row per stock and indicator. */
  readonly failures: ComputedRef<readonly FailureRow[]>
  readonly completed: Readonly<ShallowRef<TaskCompletedEvent | undefined>>
  readonly charts: Readonly<ShallowRef<FeedCharts>>
  /** The task folded from the progress and completion events of its own channel. */
  readonly task: Readonly<ShallowRef<TaskView | undefined>>
  readonly coverage: ComputedRef<FeedCoverage>
}

/**
 * Streams one task's events from `events:task:{id}`, joined from its first event: the feed,
 * failures, charts and counts are those of the whole task, however late the page opened.
 */
export function useTaskFeed(
  stream: UseEventStreamReturn,
  taskId: MaybeRefOrGetter<string>,
  options: UseTaskFeedOptions = {},
): UseTaskFeedReturn {
  const { chartIntervalMs = 1_000 } = options
  const rows = shallowRef<readonly StockIndicatorsCompletedEvent[]>([])
  const failedRows = shallowRef<readonly StockIndicatorsCompletedEvent[]>([])
  const summary = shallowRef<FeedSummary>({ stocks: 0, meanCalcMs: 0, cacheHits: 0 })
  const completed = shallowRef<TaskCompletedEvent>()
  const task = shallowRef<TaskView>()
  /** The task's first progress event (0 processed) reached the feed: it holds the whole task. */
  const sawStart = ref(false)
  const charts = shallowRef<FeedCharts>(chartsOf([]))
  const filter = ref<FeedFilter>('all')
  const search = ref('')
  // Rows grow here and are published as copies at most once per animation frame, so a render
  // sees a new array (and the virtual list its new length) without a copy per event.
  let growing: StockIndicatorsCompletedEvent[] = []
  let indexByCode = new Map<string, number>()
  let failedByCode = new Map<string, StockIndicatorsCompletedEvent>()
  let calcMs = 0
  let cacheHits = 0
  let failuresChanged = false
  let frame: number | undefined
  let chartTimer: ReturnType<typeof setTimeout> | undefined

  function publish() {
    frame = undefined
    rows.value = growing.slice()
    if (failuresChanged) failedRows.value = [...failedByCode.values()]
    failuresChanged = false
    const stocks = growing.length
    summary.value = { stocks, meanCalcMs: stocks ? calcMs / stocks : 0, cacheHits }
  }

  function add(event: StockIndicatorsCompletedEvent) {
    const index = indexByCode.get(event.stock_code)
    const replaced = index === undefined ? undefined : growing[index]
    if (index === undefined) {
      indexByCode.set(event.stock_code, growing.length)
      growing.push(event)
    } else growing[index] = event
    calcMs += event.calculation_time_ms - (replaced?.calculation_time_ms ?? 0)
    cacheHits += event.from_cache_count - (replaced?.from_cache_count ?? 0)
    if (event.failed_count > 0) failedByCode.set(event.stock_code, event)
    else if (!failedByCode.delete(event.stock_code)) return
    failuresChanged = true
  }

  function refreshCharts() {
    clearTimeout(chartTimer)
    chartTimer = undefined
    charts.value = chartsOf(growing)
  }

  onScopeDispose(() => {
    clearTimeout(chartTimer)
    if (frame !== undefined) cancelAnimationFrame(frame)
  })
  watch(
    () => toValue(taskId),
    (id, _, onCleanup) => {
      growing = []
      indexByCode = new Map()
      failedByCode = new Map()
      calcMs = 0
      cacheHits = 0
      failuresChanged = true
      publish()
      completed.value = undefined
      task.value = undefined
      sawStart.value = false
      refreshCharts()
      onCleanup(stream.subscribe([taskChannel(id)], { fromStart: true }))
    },
    { immediate: true },
  )

  stream.on('stock.indicators.completed', (event) => {
    if (event.task_id !== toValue(taskId)) return
    add(event)
    frame ??= requestAnimationFrame(publish)
    chartTimer ??= setTimeout(refreshCharts, chartIntervalMs)
  })
  stream.on('task.progress', (event) => {
    if (event.task_id !== toValue(taskId)) return
    task.value = applyTaskEvent(task.value, event)
    if (event.processed === 0) sawStart.value = true
  })
  stream.on('task.completed', (event) => {
    if (event.task_id !== toValue(taskId)) return
    completed.value = event
    task.value = applyTaskEvent(task.value, event)
    if (frame !== undefined) {
      cancelAnimationFrame(frame)
      publish()
    }
    refreshCharts()
  })

  const coverage = computed((): FeedCoverage => {
    const whole = stream.wholeHistory.value.get(taskChannel(toValue(taskId)))
    if (whole || sawStart.value) return 'whole'
    return whole === undefined ? 'loading' : 'partial'
  })

  const visible = computed(() => {
    const failedOnly = filter.value === 'failed'
    const needle = search.value.trim().toLowerCase()
    const source = failedOnly ? failedRows.value : rows.value
    if (!needle) return source
    return source.filter((row) => row.stock_code.toLowerCase().includes(needle))
  })

  const failures = computed(() => {
    const byKey = new Map<string, FailureRow>()
    const add = (failure: FailureRow) =>
      byKey.set(`${failure.stock_code}\u0000${failure.indicator ?? ''}`, failure)
    for (const row of failedRows.value) {
      if (!row.errors?.length)
        add({ stock_code: row.stock_code, reason: `${row.failed_count} indicators failed` })
      for (const error of row.errors ?? []) add({ stock_code: row.stock_code, ...error })
    }
    for (const failure of completed.value?.result.failures ?? []) add(failure)
    return [...byKey.values()]
  })

  return {
    rows,
    failedRows,
    summary,
    visible,
    filter,
    search,
    failures,
    completed,
    charts,
    task,
    coverage,
  }
}

/**
 * Throughput since the first stock, in buckets of 0.1 s to 60 s (at most MAX_BUCKETS of them, so
 * a 3 s task draws 30 points and an hour 60), and a calc-time histogram on log-spaced bins: calc
 * times are skewed (most stocks take a fraction of a millisecond, a few take tens), and
 * equal-width bins would put nearly all of them in one bar.
 */
export function chartsOf(rows: readonly StockIndicatorsCompletedEvent[]): FeedCharts {
  if (rows.length === 0) {
    return { throughput: [[], []], bucketSeconds: 1, calcTime: [[], []], calcTimeEdges: [] }
  }
  let start = Number.POSITIVE_INFINITY
  let end = Number.NEGATIVE_INFINITY
  const stamps = rows.map((row) => {
    const stamp = Date.parse(row.timestamp)
    start = Math.min(start, stamp)
    end = Math.max(end, stamp)
    return stamp
  })
  const span = (end - start) / 1000
  const bucketSeconds = BUCKET_SECONDS.find((width) => span / width <= MAX_BUCKETS) ?? 60
  const bucketMs = bucketSeconds * 1000
  // The last bucket is still filling (or ended mid-way): it would read as a false drop.
  const perBucket = new Array<number>(Math.max(1, Math.floor((end - start) / bucketMs))).fill(0)
  for (const stamp of stamps) {
    const bucket = Math.floor((stamp - start) / bucketMs)
    if (bucket < perBucket.length) perBucket[bucket] = (perBucket[bucket] ?? 0) + 1
  }
  const throughputX = perBucket.map((_, bucket) => Number((bucket * bucketSeconds).toFixed(1)))
  const throughputY = perBucket.map((count) => count / bucketSeconds)

  const times = rows.map((row) => row.calculation_time_ms)
  const edges = logEdges(Math.min(...times), Math.max(...times))
  const counts = new Array<number>(edges.length - 1).fill(0)
  for (const ms of times) {
    let bin = counts.length - 1
    while (bin > 0 && ms < edges[bin]!) bin--
    counts[bin] = (counts[bin] ?? 0) + 1
  }
  return {
    throughput: [throughputX, throughputY],
    bucketSeconds,
    calcTime: [counts.map((_, bin) => bin), counts],
    calcTimeEdges: edges,
  }
}

/** Throughput bucket widths in seconds, the first giving at most MAX_BUCKETS buckets is used. */
const BUCKET_SECONDS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60]
const MAX_BUCKETS = 60

const LOG_STEPS = [1, 1.5, 2, 3, 5, 7]
/** Below this, calc times share the first bin. */
const SMALLEST_EDGE_MS = 0.01

/** Edges from the last 1-1.5-2-3-5-7 step at or below `min` to the first one above `max`. */
function logEdges(min: number, max: number): number[] {
  const low = Math.max(min, SMALLEST_EDGE_MS)
  const high = Math.max(max, low)
  const edges: number[] = []
  for (let power = Math.floor(Math.log10(low)); ; power++) {
    for (const step of LOG_STEPS) {
      const edge = Number((step * 10 ** power).toPrecision(2))
      if (edge <= low) edges.length = 0
      edges.push(edge)
      if (edge > high) return edges
    }
  }
}
