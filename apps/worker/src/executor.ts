import { once } from 'node:events'
import { Worker } from 'node:worker_threads'
import {
  type ChunkSpec,
  type ComputedChunk,
  createEngineHost,
  type EngineSetup,
  type LoadedChunk,
  type PreparedStock,
} from './compute.js'
import { packedBuffers } from './packed-bars.js'

/** A loaded chunk: its handle for `compute`/`release`, and its stocks. */
export interface PreparedChunk {
  readonly id: number
  readonly stocks: PreparedStock[]
}

/** Loads and computes chunks of any job, on this thread or on worker threads. */
export interface ComputeExecutor {
  prepare(setup: EngineSetup, chunk: ChunkSpec): Promise<PreparedChunk>
  /** Computes indicator j of stock i where `need[i * indicators + j]` is 1 (`need` is transferred). */
  compute(id: number, need: Uint8Array): Promise<ComputedChunk>
  /** Forgets a prepared chunk that will not be computed. */
  release(id: number): void
  /**
   * Loads and computes every indicator of a chunk in one step: without a cache there is nothing
   * to look up in between, and a thread need not wait for this thread to ask for the rest.
   */
  run(setup: EngineSetup, chunk: ChunkSpec): Promise<LoadedChunk>
}

/** Worker threads that outlive jobs; close it when done. */
export interface ComputePool extends ComputeExecutor {
  readonly threads: number
  /** False once a thread died: the pool refuses work and should be replaced. */
  readonly healthy: boolean
  /**
   * Refuses new work, lets every thread finish what it was sent and exit, and resolves once all
   * have exited. Never terminates a thread: one stopped mid-task can abort the whole process.
   */
  close(): Promise<void>
}

/** A message to a compute thread. */
export type ThreadRequest =
  | {
      readonly req: number
      readonly op: 'prepare'
      readonly id: number
      readonly setup: EngineSetup
      readonly chunk: ChunkSpec
    }
  | { readonly req: number; readonly op: 'compute'; readonly id: number; readonly need: Uint8Array }
  | { readonly req: number; readonly op: 'release'; readonly id: number }
  | {
      readonly req: number
      readonly op: 'run'
      readonly id: number
      readonly setup: EngineSetup
      readonly chunk: ChunkSpec
    }
  /** Finish what came before, then let the thread exit. */
  | { readonly op: 'close' }

/** A compute thread's answer to request `req`. */
export type ThreadReply =
  | { readonly req: number; readonly ok: true; readonly result: unknown }
  | { readonly req: number; readonly ok: false; readonly error: string }

/** Where the compute thread's compiled entry sits, next to this module. */
export const COMPUTE_THREAD_URL = new URL('./compute-thread.js', import.meta.url)

/** Computes on the calling thread: no start-up cost, for small universes. */
export function createInlineExecutor(): ComputeExecutor {
  const host = createEngineHost()
  let nextId = 0
  return {
    async prepare(setup, chunk) {
      const id = nextId++
      return { id, stocks: await host.prepare(id, setup, chunk) }
    },
    compute: async (id, need) => host.compute(id, need),
    release: (id) => host.release(id),
    run: (setup, chunk) => host.run(nextId++, setup, chunk),
  }
}

export interface ThreadPoolOptions {
  readonly threads: number
  /** The compiled compute-thread entry; tests running from source point it at dist. */
  readonly threadUrl?: URL
}

/**
 * `threads` worker threads. A chunk is prepared on the least busy thread and computed on the
 * same one (it keeps the bars); bars handed with a chunk go there, and results come back, as
 * transferred buffers, not copies.
 */
export function createThreadPool(options: ThreadPoolOptions): ComputePool {
  const { threads, threadUrl } = { threadUrl: COMPUTE_THREAD_URL, ...options }
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>()
  const owner = new Map<number, number>()
  const load = new Array<number>(threads).fill(0)
  let nextReq = 0
  let nextId = 0
  let failure: Error | undefined

  const fail = (error: Error) => {
    failure ??= error
    for (const request of pending.values()) request.reject(failure)
    pending.clear()
  }
  const workers = Array.from({ length: threads }, (_, index) => {
    const worker = new Worker(threadUrl)
    worker.on('message', (reply: ThreadReply) => {
      const request = pending.get(reply.req)
      pending.delete(reply.req)
      if (reply.ok) request?.resolve(reply.result)
      else request?.reject(new Error(reply.error))
    })
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Error(`compute thread ${index} exited with code ${code}`)))
    return worker
  })
  const exited = workers.map((worker) => once(worker, 'exit').then(() => {}))
  let closed: Promise<void> | undefined

  const call = <T>(
    thread: number,
    request: Exclude<ThreadRequest, { op: 'close' }>,
    transfer: ArrayBuffer[] = [],
  ) => {
    if (failure) return Promise.reject(failure)
    return new Promise<T>((resolve, reject) => {
      pending.set(request.req, { resolve: resolve as (value: unknown) => void, reject })
      workers[thread]!.postMessage(request, transfer)
    })
  }
  const done = (id: number) => {
    const thread = owner.get(id)!
    owner.delete(id)
    load[thread]!--
    return thread
  }

  return {
    threads,
    get healthy() {
      return failure === undefined
    },
    async prepare(setup, chunk) {
      const id = nextId++
      const thread = load.indexOf(Math.min(...load))
      load[thread]!++
      owner.set(id, thread)
      const stocks = await call<PreparedStock[]>(
        thread,
        { req: nextReq++, op: 'prepare', id, setup, chunk },
        chunk.bars ? packedBuffers(chunk.bars) : [],
      )
      return { id, stocks }
    },
    compute(id, need) {
      const thread = done(id)
      return call(thread, { req: nextReq++, op: 'compute', id, need }, [need.buffer as ArrayBuffer])
    },
    release(id) {
      const thread = done(id)
      call(thread, { req: nextReq++, op: 'release', id }).catch(() => {})
    },
    async run(setup, chunk) {
      const id = nextId++
      const thread = load.indexOf(Math.min(...load))
      load[thread]!++
      try {
        return await call<LoadedChunk>(
          thread,
          { req: nextReq++, op: 'run', id, setup, chunk },
          chunk.bars ? packedBuffers(chunk.bars) : [],
        )
      } finally {
        load[thread]!--
      }
    },
    close() {
      closed ??= (async () => {
        fail(new Error('the compute pool is closed'))
        for (const worker of workers) worker.postMessage({ op: 'close' } satisfies ThreadRequest)
        await Promise.all(exited)
      })()
      return closed
    },
  }
}
