/** The BullMQ queue of run starts: the only queue the gateway and the operator may write. */
export const STARTS_QUEUE = 'starts'
/** The BullMQ queue of run finishes and scheduled runs: the workers' alone. */
export const RUNS_QUEUE = 'runs'
/** The BullMQ queue of chunk jobs: one per slice of a run's stocks. */
export const CHUNKS_QUEUE = 'chunks'
/** Id of the fleet's daily run, a BullMQ job scheduler on RUNS_QUEUE. */
export const SCHEDULER_ID = 'daily'
/** Seconds a run's keys stay after its last sign of life, and after it finished. */
export const RUN_TTL_SECONDS = 86_400

/** A worker silent this long leaves the registry (`GET /api/workers`). */
export const WORKER_SILENCE_MS = 10 * 60_000

/** Prefix of BullMQ's keys under a deployment's key prefix: `stockpulse:bull:starts:wait`. */
export function bullPrefix(keyPrefix: string): string {
  return `${keyPrefix}bull`
}

/** Job id of a run's start job. */
export const startJobId = (taskId: string) => `${taskId}#start`
/** Job id of a run's finish job (the parent of its chunks). */
export const finishJobId = (taskId: string) => `${taskId}#finish`
/** Job id of chunk `index` of a run, also what heartbeats name as `current_chunk`. */
export const chunkJobId = (taskId: string, index: number) => `${taskId}#${index}`

/** The Redis keys of the runs, under a deployment's key prefix. */
export function runKeys(prefix: string) {
  return {
    /** String: the id of the run admitted last and not yet done (one run at a time). */
    active: `${prefix}runs-active`,
    /** Hash `{prefix}run:{id}`: state, request, total, processed, failed, last, started_ms. */
    state: (taskId: string) => `${prefix}run:${taskId}`,
    /** Prefix the admission script appends the active run's id to. */
    statePrefix: `${prefix}run:`,
    /**
     * Set: the stock codes published for the run (each stock exactly once). Outside `run:*`:
     * only the workers may write it.
     */
    done: (taskId: string) => `${prefix}run-done:${taskId}`,
    /** String, EX 86400: the run was cancelled, and why. */
    cancel: (taskId: string) => `${prefix}run:${taskId}:cancel`,
    /** List: the first failures of the run (JSON `Failure`s). The workers' alone, as `done`. */
    failures: (taskId: string) => `${prefix}run-failures:${taskId}`,
    /** Hash: instance id -> the `WorkerInfo` JSON of its last heartbeat. */
    workers: `${prefix}workers`,
  } as const
}
export type RunKeys = ReturnType<typeof runKeys>
