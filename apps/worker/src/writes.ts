/** Fire-and-forget Redis writes: never awaited by the job, counted when they fail, awaitable at the end. */
export interface Writes {
  track(write: Promise<unknown>): void
  /** Resolves once every write tracked so far has settled. */
  flush(): Promise<void>
  readonly failed: number
}

export function createWrites(): Writes {
  const pending = new Set<Promise<unknown>>()
  let failed = 0
  return {
    track(write) {
      const settled = write.then(
        () => {},
        () => {
          failed++
        },
      )
      pending.add(settled)
      settled.then(() => pending.delete(settled))
    },
    async flush() {
      await Promise.all(pending)
    },
    get failed() {
      return failed
    },
  }
}
