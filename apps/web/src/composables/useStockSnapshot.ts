import { type MarketSnapshotEvent, marketChannel } from '@stockpulse/events'
import { type MaybeRefOrGetter, type ShallowRef, shallowRef, toValue, watch } from 'vue'
import type { UseEventStreamReturn } from './useEventStream'

export interface UseStockSnapshotReturn {
  /** The newest `market.snapshot` of the stock, once one arrives. */
  readonly latest: Readonly<ShallowRef<MarketSnapshotEvent | undefined>>
}

/** Follows one stock on `events:market:{code}`. */
export function useStockSnapshot(
  stream: UseEventStreamReturn,
  code: MaybeRefOrGetter<string>,
): UseStockSnapshotReturn {
  const latest = shallowRef<MarketSnapshotEvent>()
  watch(
    () => toValue(code),
    (stockCode, _, onCleanup) => {
      latest.value = undefined
      onCleanup(stream.subscribe([marketChannel(stockCode)]))
    },
    { immediate: true },
  )
  stream.on('market.snapshot', (event) => {
    if (event.stock_code === toValue(code)) latest.value = event
  })
  return { latest }
}
