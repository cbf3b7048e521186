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

export type FeedFilter = 'all' | 'failed'

/** Why a stock, or one indicator of it, failed. */
export interface FailureRow {
  readonly stock_code: string
  readonly indicator?: string
  readonly reason: string
}

/** Chart series in uPlot's column layout. */
export interface FeedCharts {
  /** Epoch seconds and stocks finished in that second. */
  readonly throughput: [number[], number[]]
  /** Lower bound of each calc-time bin (ms) and stocks in it. */
  readonly calcTime: [number[], number[]]
}

export interface UseTaskFeedOptions {
  /** Charts are recomputed at most this often while stocks stream in. */
  chartIntervalMs?: number
  /** Bins of the calc-time histogram. */
  histogramBins?: number
}

export interface UseTaskFeedReturn {
  /** One row per stock, in arrival order; a repeated stock replaces its row. */
  readonly rows: Readonly<ShallowRef<readonly StockIndicatorsCompletedEvent[]>>
  /** `rows` after `filter` and `search`. */
  readonly visible: ComputedRef<readonly StockIndicatorsCompletedEvent[]>
  readonly filter: Ref<FeedFilter>
  /** Case-insensitive part of a stock code. */
  readonly search: Ref<string>
  /** From each stock's `errors` and the task's `result.failures`, one row per stock and indicator. */
  readonly failures: ComputedRef<readonly FailureRow[]>
  readonly completed: Readonly<ShallowRef<TaskCompletedEvent | undefined>>
  readonly charts: Readonly<ShallowRef<FeedCharts>>
}

/** Streams one task's `stock.indicators.completed` events from `events:task:{id}`. */
export function useTaskFeed(
  stream: UseEventStreamReturn,
  taskId: MaybeRefOrGetter<string>,
  options: UseTaskFeedOptions = {},
): UseTaskFeedReturn {
  const { chartIntervalMs = 1_000, histogramBins = 24 } = options
  const rows = shallowRef<readonly StockIndicatorsCompletedEvent[]>([])
  const completed = shallowRef<TaskCompletedEvent>()
  const charts = shallowRef<FeedCharts>(chartsOf([], histogramBins))
  const filter = ref<FeedFilter>('all')
  const search = ref('')
  /** The rows as they grow; `rows` gets a copy once per burst of events, so renders see a new array. */
  let growing: StockIndicatorsCompletedEvent[] = []
  let indexByCode = new Map<string, number>()
  let publishQueued = false
  let chartTimer: ReturnType<typeof setTimeout> | undefined

  function publishRows() {
    publishQueued = false
    rows.value = growing.slice()
  }

  function refreshCharts() {
    clearTimeout(chartTimer)
    chartTimer = undefined
    charts.value = chartsOf(growing, histogramBins)
  }

  onScopeDispose(() => clearTimeout(chartTimer))
  watch(
    () => toValue(taskId),
    (id, _, onCleanup) => {
      growing = []
      rows.value = []
      indexByCode = new Map()
      completed.value = undefined
      refreshCharts()
      onCleanup(stream.subscribe([taskChannel(id)]))
    },
    { immediate: true },
  )

  stream.on('stock.indicators.completed', (event) => {
    if (event.task_id !== toValue(taskId)) return
    const index = indexByCode.get(event.stock_code)
    if (index === undefined) {
      indexByCode.set(event.stock_code, growing.length)
      growing.push(event)
    } else growing[index] = event
    if (!publishQueued) {
      publishQueued = true
      queueMicrotask(publishRows)
    }
    chartTimer ??= setTimeout(refreshCharts, chartIntervalMs)
  })
  stream.on('task.completed', (event) => {
    if (event.task_id !== toValue(taskId)) return
    completed.value = event
    refreshCharts()
  })

  const visible = computed(() => {
    const failedOnly = filter.value === 'failed'
    const needle = search.value.trim().toLowerCase()
    if (!failedOnly && !needle) return rows.value
    return rows.value.filter(
      (row) =>
        (!failedOnly || row.failed_count > 0) &&
        (!needle || row.stock_code.toLowerCase().includes(needle)),
    )
  })

  const failures = computed(() => {
    const byKey = new Map<string, FailureRow>()
    const add = (failure: FailureRow) =>
      byKey.set(`${failure.stock_code}\u0000${failure.indicator ?? ''}`, failure)
    for (const row of rows.value) {
      if (row.failed_count === 0) continue
      if (!row.errors?.length)
        add({ stock_code: row.stock_code, reason: `${row.failed_count} indicators failed` })
      for (const error of row.errors ?? []) add({ stock_code: row.stock_code, ...error })
    }
    for (const failure of completed.value?.result.failures ?? []) add(failure)
    return [...byKey.values()]
  })

  return { rows, visible, filter, search, failures, completed, charts }
}

/** Per-second throughput and an equal-width calc-time histogram of these stocks. */
export function chartsOf(rows: readonly StockIndicatorsCompletedEvent[], bins: number): FeedCharts {
  if (rows.length === 0) return { throughput: [[], []], calcTime: [[], []] }
  const perSecond = new Map<number, number>()
  let maxMs = 0
  for (const row of rows) {
    const second = Math.floor(Date.parse(row.timestamp) / 1000)
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1)
    maxMs = Math.max(maxMs, row.calculation_time_ms)
  }
  const seconds = [...perSecond.keys()]
  const last = Math.max(...seconds)
  const throughputX: number[] = []
  const throughputY: number[] = []
  for (let second = Math.min(...seconds); second <= last; second++) {
    throughputX.push(second)
    throughputY.push(perSecond.get(second) ?? 0)
  }

  const width = niceStep(maxMs / bins)
  const counts = new Array<number>(bins).fill(0)
  for (const row of rows) {
    const bin = Math.min(bins - 1, Math.floor(row.calculation_time_ms / width))
    counts[bin] = (counts[bin] ?? 0) + 1
  }
  return {
    throughput: [throughputX, throughputY],
    calcTime: [counts.map((_, bin) => bin * width), counts],
  }
}

/** The smallest of 1, 2 or 5 times a power of ten that is at least `raw`. */
function niceStep(raw: number): number {
  if (!(raw > 0)) return 1
  const power = 10 ** Math.floor(Math.log10(raw))
  return ([1, 2, 5, 10].find((factor) => factor * power >= raw) ?? 10) * power
}
