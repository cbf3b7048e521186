import { ApiValidators, type StockResultsResponse } from '@stockpulse/events'
import {
  type MaybeRefOrGetter,
  onScopeDispose,
  type Ref,
  readonly,
  ref,
  type ShallowRef,
  shallowRef,
  toValue,
  watch,
} from 'vue'
import { apiRequest } from '../lib/api'
import type { UseEventStreamReturn } from './useEventStream'

/** Fetches again, this often and this many times, until the stored result of a live snapshot's task is there. */
const STORE_RETRY_MS = 1_000
const STORE_RETRIES = 5

export interface UseStockResultsOptions {
  /** The gateway's `api/` URL. */
  apiUrl: string
  token?: () => string | undefined
  fetch?: typeof globalThis.fetch
}

/** Why the stored results of a stock are not shown: the refusal's code and sentence. */
export interface StockResultsProblem {
  readonly error: string
  readonly reason: string
}

export interface UseStockResultsReturn {
  /** `GET /api/stocks/{code}`: the newest stored result and recent snapshots. */
  readonly stored: Readonly<ShallowRef<StockResultsResponse | undefined>>
  readonly problem: Readonly<ShallowRef<StockResultsProblem | undefined>>
  readonly loading: Readonly<Ref<boolean>>
}

/**
 * A stock's stored results from the gateway, fetched when the code changes and again whenever a
 * task computes the stock (its `market.snapshot` on `events:market:{code}`): the page is complete
 * when opened, then live.
 */
export function useStockResults(
  stream: UseEventStreamReturn,
  code: MaybeRefOrGetter<string>,
  options: UseStockResultsOptions,
): UseStockResultsReturn {
  const { apiUrl, token = () => undefined, fetch } = options
  const stored = shallowRef<StockResultsResponse>()
  const problem = shallowRef<StockResultsProblem>()
  const loading = ref(false)
  let latest = 0
  /** The task of the newest live snapshot, until the stored results have caught up with it. */
  let awaited: { taskId: string; tries: number } | undefined
  let retry: ReturnType<typeof setTimeout> | undefined
  onScopeDispose(() => {
    latest += 1
    clearTimeout(retry)
  })

  async function load(stockCode: string) {
    const request = ++latest
    loading.value = true
    const url = new URL(`stocks/${encodeURIComponent(stockCode)}`, apiUrl).href
    const answer = await apiRequest(url, { token: token(), fetch })
    if (request !== latest) return
    loading.value = false
    if (answer.ok && ApiValidators.stockResults.Check(answer.body)) {
      stored.value = answer.body
      problem.value = undefined
    } else if (answer.ok) {
      problem.value = { error: 'invalid_answer', reason: 'The answer breaks the contract.' }
    } else {
      if (answer.status === 404) stored.value = undefined
      problem.value = { error: answer.error, reason: answer.reason }
    }
    // The worker stores a chunk's results after publishing its stocks: try again shortly.
    const behind = awaited && (!answer.ok || stored.value?.task_id !== awaited.taskId)
    if (behind && awaited && awaited.tries++ < STORE_RETRIES) {
      retry = setTimeout(() => void load(stockCode), STORE_RETRY_MS)
    } else awaited = undefined
  }

  watch(
    () => toValue(code),
    (stockCode) => {
      awaited = undefined
      clearTimeout(retry)
      stored.value = undefined
      problem.value = undefined
      void load(stockCode)
    },
    { immediate: true },
  )
  stream.on('market.snapshot', (event) => {
    const stockCode = toValue(code)
    if (event.stock_code !== stockCode || event.task_id === undefined) return
    if (event.task_id === stored.value?.task_id) return
    awaited = { taskId: event.task_id, tries: 0 }
    clearTimeout(retry)
    void load(stockCode)
  })
  return { stored, problem, loading: readonly(loading) }
}
