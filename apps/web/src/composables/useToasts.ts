import { onScopeDispose, type Ref, readonly, ref } from 'vue'

export type ToastLevel = 'success' | 'warning' | 'error'

export interface Toast {
  readonly id: number
  readonly level: ToastLevel
  readonly title: string
  readonly message: string
}

export interface UseToastsOptions {
  /** A toast disappears after this long unless dismissed earlier. */
  timeoutMs?: number
  /** At most this many are shown; the oldest go first. */
  max?: number
}

export interface UseToastsReturn {
  readonly toasts: Readonly<Ref<readonly Toast[]>>
  push(toast: Omit<Toast, 'id'>): void
  dismiss(id: number): void
}

/** Short-lived notifications, rendered by ToastStack in a live region. */
export function useToasts(options: UseToastsOptions = {}): UseToastsReturn {
  const { timeoutMs = 8_000, max = 4 } = options
  const toasts = ref<Toast[]>([])
  const timers = new Map<number, ReturnType<typeof setTimeout>>()
  let nextId = 1

  function dismiss(id: number) {
    clearTimeout(timers.get(id))
    timers.delete(id)
    toasts.value = toasts.value.filter((toast) => toast.id !== id)
  }

  function push(toast: Omit<Toast, 'id'>) {
    const id = nextId++
    toasts.value = [...toasts.value, { ...toast, id }]
    timers.set(
      id,
      setTimeout(() => dismiss(id), timeoutMs),
    )
    for (const old of toasts.value.slice(0, -max)) dismiss(old.id)
  }

  onScopeDispose(() => {
    for (const timer of timers.values()) clearTimeout(timer)
  })
  return { toasts: readonly(toasts), push, dismiss }
}
