import { SYSTEM, type SystemHeartbeatEvent } from '@stockpulse/events'
import { type ComputedRef, computed, type Ref, shallowRef } from 'vue'
import type { UseEventStreamReturn } from './useEventStream'
import { useNow } from './useNow'

export interface WorkerView {
  readonly heartbeat: SystemHeartbeatEvent
  /** Epoch ms (browser clock) when the heartbeat arrived. */
  readonly receivedAt: number
  /** Silent for longer than `lostAfterMs`. */
  readonly lost: boolean
}

export interface UseWorkersOptions {
  /** A service silent for this long is shown as lost (workers beat every 10 s). */
  lostAfterMs?: number
  /** Clock the ages are measured with. */
  now?: Readonly<Ref<number>>
}

export interface UseWorkersReturn {
  /** Every service instance heard from on `events:system`, most recently heard first. */
  readonly workers: ComputedRef<readonly WorkerView[]>
}

/** Follows service heartbeats on `events:system`. */
export function useWorkers(
  stream: UseEventStreamReturn,
  options: UseWorkersOptions = {},
): UseWorkersReturn {
  const { lostAfterMs = 30_000, now = useNow() } = options
  const seen = shallowRef<ReadonlyMap<string, Omit<WorkerView, 'lost'>>>(new Map())

  stream.subscribe([SYSTEM])
  stream.on('system.heartbeat', (heartbeat) => {
    seen.value = new Map(seen.value).set(heartbeat.instance_id, {
      heartbeat,
      receivedAt: Date.now(),
    })
  })

  const workers = computed(() =>
    [...seen.value.values()]
      .map((worker) => ({ ...worker, lost: now.value - worker.receivedAt > lostAfterMs }))
      .sort((a, b) => b.receivedAt - a.receivedAt),
  )
  return { workers }
}
