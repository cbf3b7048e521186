import { type Ref, readonly, ref, watch } from 'vue'
import type { UseEventStreamReturn } from './useEventStream'

export interface UseRecoveryNoticeReturn {
  /** Channels rebuilt from a snapshot since the last dismiss: their missed events are gone. */
  readonly unrecovered: Readonly<Ref<readonly string[]>>
  dismiss(): void
}

/** Collects the channels a resume could not replay (`recovered: false`) until dismissed. */
export function useRecoveryNotice(stream: UseEventStreamReturn): UseRecoveryNoticeReturn {
  const unrecovered = ref<readonly string[]>([])
  watch(stream.recovery, (results) => {
    const lost = results.filter((result) => !result.recovered).map((result) => result.channel)
    if (lost.length > 0) unrecovered.value = [...new Set([...unrecovered.value, ...lost])]
  })
  return {
    unrecovered: readonly(unrecovered),
    dismiss: () => {
      unrecovered.value = []
    },
  }
}
