import { onScopeDispose, type Ref, readonly, ref, type ShallowRef, shallowRef } from 'vue'
import { apiRequest } from '../lib/api'

export interface UsePollOptions<T> {
  /** `GET` endpoint of the gateway. */
  url: string
  intervalMs?: number
  fetch?: typeof globalThis.fetch
  /** The gateway token, sent as `Authorization: Bearer`. */
  token?: () => string | undefined
  /** Checks the body (it comes from outside): undefined refuses it. The body as is by default. */
  parse?: (body: unknown) => T | undefined
}

export interface UsePollReturn<T> {
  /** The last accepted body. */
  readonly data: Readonly<ShallowRef<T | undefined>>
  /** Why the last poll failed (the refusal's reason); undefined after a success. */
  readonly error: Readonly<Ref<string | undefined>>
  /** The last refusal's `error` code, e.g. `needs_redis`. */
  readonly errorCode: Readonly<Ref<string | undefined>>
  /** Epoch ms of the last successful poll. */
  readonly updatedAt: Readonly<Ref<number | undefined>>
}

/** Polls a gateway JSON endpoint now and every `intervalMs` until the scope ends. */
export function usePoll<T = unknown>(options: UsePollOptions<T>): UsePollReturn<T> {
  const {
    url,
    intervalMs = 3_000,
    fetch,
    token = () => undefined,
    parse = (body) => body as T,
  } = options
  const data = shallowRef<T>()
  const error = ref<string>()
  const errorCode = ref<string>()
  const updatedAt = ref<number>()
  let timer: ReturnType<typeof setTimeout> | undefined
  let stopped = false

  async function poll() {
    const answer = await apiRequest(url, { token: token(), fetch })
    if (stopped) return
    const value = answer.ok ? parse(answer.body) : undefined
    if (answer.ok && value !== undefined) {
      data.value = value
      error.value = undefined
      errorCode.value = undefined
      updatedAt.value = Date.now()
    } else {
      error.value = answer.ok ? 'the answer breaks the contract' : answer.reason
      errorCode.value = answer.ok ? 'invalid_answer' : answer.error
    }
    if (!stopped) timer = setTimeout(poll, intervalMs)
  }

  onScopeDispose(() => {
    stopped = true
    clearTimeout(timer)
  })
  void poll()
  return {
    data,
    error: readonly(error),
    errorCode: readonly(errorCode),
    updatedAt: readonly(updatedAt),
  }
}
