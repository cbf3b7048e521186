import { onScopeDispose, type Ref, readonly, ref, type ShallowRef, shallowRef } from 'vue'
import { requestHeaders } from '../lib/headers'

export interface UseGatewayStatsOptions {
  /** `GET` endpoint of the gateway's statistics. */
  url: string
  intervalMs?: number
  fetch?: typeof globalThis.fetch
  /** The gateway token (it needs the `stockpulse:admin` scope), sent as `Authorization: Bearer`. */
  token?: () => string | undefined
}

export interface UseGatewayStatsReturn {
  /** The last JSON body the gateway returned. */
  readonly stats: Readonly<ShallowRef<unknown>>
  /** Why the last poll failed; undefined after a success. */
  readonly error: Readonly<Ref<string | undefined>>
  /** Epoch ms of the last successful poll. */
  readonly updatedAt: Readonly<Ref<number | undefined>>
}

/** Polls the gateway's `GET /ws/stats` every `intervalMs` until the scope ends. */
export function useGatewayStats(options: UseGatewayStatsOptions): UseGatewayStatsReturn {
  const { url, intervalMs = 3_000, fetch = globalThis.fetch, token = () => undefined } = options
  const stats = shallowRef<unknown>()
  const error = ref<string>()
  const updatedAt = ref<number>()
  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = false

  async function poll() {
    try {
      const response = await fetch(url, { headers: requestHeaders(token()) })
      if (!response.ok) throw new Error(`HTTP ${response.status}`)
      stats.value = await response.json()
      error.value = undefined
      updatedAt.value = Date.now()
    } catch (cause) {
      error.value = cause instanceof Error ? cause.message : String(cause)
    }
    if (!stopped) timer = setTimeout(poll, intervalMs)
  }

  onScopeDispose(() => {
    stopped = true
    clearTimeout(timer)
  })
  void poll()
  return { stats, error: readonly(error), updatedAt: readonly(updatedAt) }
}
