import { isIdentifier, type RunRequest } from '@stockpulse/events'
import { type Ref, readonly, ref } from 'vue'
import { apiRequest } from '../lib/api'
import type { Toast } from './useToasts'

export interface UseRunControlOptions {
  /** The gateway's `api/` URL. */
  apiUrl: string
  token?: () => string | undefined
  fetch?: typeof globalThis.fetch
  /** Where each outcome is announced. */
  notify: (toast: Omit<Toast, 'id'>) => void
  /** Where the options of the runs started here are kept, for Re-run; none: in memory only. */
  storage?: Pick<Storage, 'getItem' | 'setItem'>
}

export interface UseRunControlReturn {
  /** A request is on its way: the buttons wait. */
  readonly busy: Readonly<Ref<boolean>>
  /** `POST /api/runs`; resolves with the new task id, or undefined when refused (toast with the reason). */
  start(options: RunRequest): Promise<string | undefined>
  /** `POST /api/runs/{id}/cancel`. */
  cancel(taskId: string): Promise<boolean>
  /** Starts a run with the options `taskId` was started with here, else `{ stocks: total }`. */
  rerun(taskId: string, total: number): Promise<string | undefined>
  /** The options a run was started with from this browser, if it was. */
  optionsOf(taskId: string): RunRequest | undefined
}

/** Runs kept in `storage` for Re-run. */
const REMEMBERED_RUNS = 50
/** sessionStorage/localStorage key of the remembered run options. */
export const RUN_OPTIONS_KEY = 'stockpulse.runOptions'

/** Start, Cancel and Re-run over the gateway's run API; every outcome, and every refusal's reason, in a toast. */
export function useRunControl(options: UseRunControlOptions): UseRunControlReturn {
  const { apiUrl, token = () => undefined, fetch, notify, storage } = options
  const busy = ref(false)
  const remembered = new Map<string, RunRequest>(load(storage))

  async function post(path: string, body: unknown) {
    busy.value = true
    try {
      return await apiRequest(new URL(path, apiUrl).href, {
        method: 'POST',
        body,
        token: token(),
        fetch,
      })
    } finally {
      busy.value = false
    }
  }

  async function start(runOptions: RunRequest) {
    const answer = await post('runs', runOptions)
    const taskId = answer.ok ? taskIdOf(answer.body) : undefined
    if (!answer.ok || !taskId) {
      notify({
        level: 'error',
        title: 'Run not started',
        message: answer.ok ? 'The gateway answered without a task id.' : answer.reason,
      })
      return undefined
    }
    remember(taskId, { ...runOptions, task_id: undefined })
    notify({ level: 'success', title: `Run ${taskId} submitted`, message: describe(runOptions) })
    return taskId
  }

  async function cancel(taskId: string) {
    const answer = await post(`runs/${encodeURIComponent(taskId)}/cancel`, {})
    notify(
      answer.ok
        ? {
            level: 'warning',
            title: `Cancelling ${taskId}`,
            message: 'Its remaining stocks are skipped.',
          }
        : { level: 'error', title: `${taskId} not cancelled`, message: answer.reason },
    )
    return answer.ok
  }

  function rerun(taskId: string, total: number) {
    const again = remembered.get(taskId) ?? (total > 0 ? { stocks: total } : {})
    return start(again)
  }

  function remember(taskId: string, runOptions: RunRequest) {
    const clean = Object.fromEntries(
      Object.entries(runOptions).filter(([, value]) => value !== undefined),
    ) as RunRequest
    remembered.set(taskId, clean)
    for (const old of [...remembered.keys()].slice(0, -REMEMBERED_RUNS)) remembered.delete(old)
    try {
      storage?.setItem(RUN_OPTIONS_KEY, JSON.stringify([...remembered]))
    } catch {
      // A full or disabled storage only costs Re-run its memory of the options.
    }
  }

  return {
    busy: readonly(busy),
    start,
    cancel,
    rerun,
    optionsOf: (taskId) => remembered.get(taskId),
  }
}

/** "2,000 stocks, SMA_5, MACD", or "the worker's defaults". */
export function describe(runOptions: RunRequest): string {
  const parts = [
    runOptions.stocks === undefined
      ? undefined
      : `${runOptions.stocks.toLocaleString('en-US')} stocks`,
    runOptions.days === undefined ? undefined : `${runOptions.days} days`,
    runOptions.seed === undefined ? undefined : `seed ${runOptions.seed}`,
    runOptions.indicators?.length ? runOptions.indicators.join(', ') : undefined,
  ].filter((part) => part !== undefined)
  return parts.length > 0 ? parts.join(' · ') : "the worker's default options"
}

function taskIdOf(body: unknown): string | undefined {
  const id = (body as { task_id?: unknown } | undefined)?.task_id
  return isIdentifier(id) ? id : undefined
}

/** The remembered options in `storage`; a damaged entry is ignored. */
function load(storage: Pick<Storage, 'getItem'> | undefined): Array<[string, RunRequest]> {
  try {
    const saved = JSON.parse(storage?.getItem(RUN_OPTIONS_KEY) ?? '[]') as unknown
    if (!Array.isArray(saved)) return []
    return saved.filter(
      (entry): entry is [string, RunRequest] =>
        Array.isArray(entry) &&
        typeof entry[0] === 'string' &&
        typeof entry[1] === 'object' &&
        entry[1] !== null,
    )
  } catch {
    return []
  }
}
