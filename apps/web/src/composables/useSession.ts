import { ApiValidators, Scope, type SessionResponse } from '@stockpulse/events'
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
import { apiRequest } from '../lib/api'

export interface UseSessionOptions {
  /** The gateway's `api/` URL. */
  apiUrl: string
  token?: () => string | undefined
  fetch?: typeof globalThis.fetch
}

export interface UseSessionReturn {
  /** `GET /api/session`, once it answered. */
  readonly session: Readonly<ShallowRef<SessionResponse | undefined>>
  /** Why it could not be read. */
  readonly error: Readonly<Ref<string | undefined>>
  /** Start, Cancel and Re-run are shown: the token has `stockpulse:operate` (or auth is off). */
  readonly canOperate: ComputedRef<boolean>
  /** The gateway runs without Redis: no history, stored results or runs. */
  readonly memoryMode: ComputedRef<boolean>
  refresh(): Promise<void>
}

/** Who the page is to the gateway (scopes) and what the gateway can do (redis or memory mode). */
export function useSession(options: UseSessionOptions): UseSessionReturn {
  const { apiUrl, token = () => undefined, fetch } = options
  const session = shallowRef<SessionResponse>()
  const error = ref<string>()
  let disposed = false
  onScopeDispose(() => {
    disposed = true
  })

  async function refresh() {
    const answer = await apiRequest(new URL('session', apiUrl).href, {
      token: token(),
      fetch,
    })
    if (disposed) return
    if (answer.ok && ApiValidators.session.Check(answer.body)) {
      session.value = answer.body
      error.value = undefined
    } else error.value = answer.ok ? 'the answer breaks the contract' : answer.reason
  }

  void refresh()
  return {
    session,
    error: readonly(error),
    canOperate: computed(() => session.value?.scopes.includes(Scope.OPERATE) === true),
    memoryMode: computed(() => session.value?.mode === 'memory'),
    refresh,
  }
}
