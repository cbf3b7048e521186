import { onScopeDispose, type Ref, readonly, ref } from 'vue'

export interface UseNowOptions {
  intervalMs?: number
}

/** Epoch ms, refreshed every `intervalMs` until the scope ends: a clock for elapsed times and ages. */
export function useNow(options: UseNowOptions = {}): Readonly<Ref<number>> {
  const { intervalMs = 1_000 } = options
  const now = ref(Date.now())
  const timer = setInterval(() => {
    now.value = Date.now()
  }, intervalMs)
  onScopeDispose(() => clearInterval(timer))
  return readonly(now)
}
