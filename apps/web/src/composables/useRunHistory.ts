import {
  DEFAULT_RUN_HISTORY,
  type TaskCompletedEvent,
  type TaskStatus,
  validateEvent,
} from '@stockpulse/events'
import {
  type ComputedRef,
  computed,
  onScopeDispose,
  type Ref,
  readonly,
  ref,
  type ShallowRef,
  shallowRef,
} from 'vue'
import { requestHeaders } from '../lib/headers'
import type { UseEventStreamReturn } from './useEventStream'

/** One finished run, as the history table shows it. */
export interface RunRow {
  readonly id: string
  readonly status: TaskStatus
  /** Epoch ms of its task.completed. */
  readonly endedAt: number
  readonly durationSeconds: number
  /** Stocks processed: succeeded plus failed. */
  readonly stocks: number
  readonly failed: number
  /** Stocks per second over the whole run; undefined for a run of no duration. */
  readonly throughput?: number
  /** The run's `task.completed`, as stored. */
  readonly event: TaskCompletedEvent
}

/** Run-over-run series in uPlot's column layout: run number (1 = oldest shown) and a value. */
export interface RunCharts {
  readonly duration: [number[], number[]]
  readonly failures: [number[], number[]]
  /** null (a gap) for a run of no duration. */
  readonly throughput: [number[], Array<number | null>]
}

export interface UseRunHistoryOptions {
  /** `GET` endpoint of the run history (`RunHistoryResponse`). */
  url: string
  /** Runs asked for (`?limit=`). */
  limit?: number
  fetch?: typeof globalThis.fetch
  /** The gateway token, sent as `Authorization: Bearer`. */
  token?: () => string | undefined
}

export interface UseRunHistoryReturn {
  /** Newest first; undefined until the first answer. */
  readonly runs: Readonly<ShallowRef<readonly RunRow[] | undefined>>
  readonly charts: ComputedRef<RunCharts>
  readonly loading: Readonly<Ref<boolean>>
  /** Why the last fetch failed; undefined after a success. */
  readonly error: Readonly<Ref<string | undefined>>
  refresh(): Promise<void>
}

/**
 * Fetches the last runs from the gateway's `GET /ws/history` now, on `refresh()`, and whenever a
 * task.completed arrives (the worker stores the run before it publishes that event).
 */
export function useRunHistory(
  stream: UseEventStreamReturn,
  options: UseRunHistoryOptions,
): UseRunHistoryReturn {
  const {
    url,
    limit = DEFAULT_RUN_HISTORY,
    fetch = globalThis.fetch,
    token = () => undefined,
  } = options
  const runs = shallowRef<readonly RunRow[]>()
  const loading = ref(false)
  const error = ref<string>()
  /** Number of the newest request: only its answer is shown. Bumped on dispose to ignore all. */
  let latest = 0
  onScopeDispose(() => {
    latest += 1
  })

  async function refresh() {
    const request = ++latest
    loading.value = true
    let rows: RunRow[] | undefined
    let problem: string | undefined
    try {
      const target = new URL(url)
      target.searchParams.set('limit', String(limit))
      const response = await fetch(target, { headers: requestHeaders(token()) })
      if (!response.ok) throw new Error(`HTTP ${response.status}`)
      rows = runRows(await response.json())
    } catch (cause) {
      problem = cause instanceof Error ? cause.message : String(cause)
    }
    if (request !== latest) return
    if (rows) runs.value = rows
    error.value = problem
    loading.value = false
  }

  const charts = computed(() => runCharts(runs.value ?? []))
  stream.on('task.completed', () => void refresh())
  void refresh()
  return { runs, charts, loading: readonly(loading), error: readonly(error), refresh }
}

/**
 * The rows of a `RunHistoryResponse` body. Each run is checked against the contract: a run that
 * breaks it is left out with a warning; a body that is not `{ runs: [...] }` throws.
 */
export function runRows(body: unknown): RunRow[] {
  const list = body !== null && typeof body === 'object' && 'runs' in body ? body.runs : undefined
  if (!Array.isArray(list)) throw new Error('the answer has no `runs` list')
  return list.flatMap((run: unknown) => {
    const parsed = validateEvent(run)
    if (parsed.ok && parsed.value.event_type === 'task.completed') return [rowOf(parsed.value)]
    console.warn(
      '[run-history] left out a run:',
      parsed.ok ? 'not a task.completed' : parsed.error.message,
    )
    return []
  })
}

/** Duration, failures and throughput of `rows` (newest first), oldest run first. */
export function runCharts(rows: readonly RunRow[]): RunCharts {
  const oldestFirst = [...rows].reverse()
  const x = oldestFirst.map((_, index) => index + 1)
  return {
    duration: [x, oldestFirst.map((row) => row.durationSeconds)],
    failures: [x, oldestFirst.map((row) => row.failed)],
    throughput: [x, oldestFirst.map((row) => row.throughput ?? null)],
  }
}

function rowOf(run: TaskCompletedEvent): RunRow {
  const stocks = run.result.success + run.result.failed
  return {
    id: run.task_id,
    status: run.status,
    endedAt: Date.parse(run.timestamp),
    durationSeconds: run.duration_seconds,
    stocks,
    failed: run.result.failed,
    throughput: run.duration_seconds > 0 ? stocks / run.duration_seconds : undefined,
    event: run,
  }
}
