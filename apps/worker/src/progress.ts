/** A progress event every this many stocks, whatever the universe size. */
export const PROGRESS_EVERY_STOCKS = 50

/**
 * The throttling rule of `task.progress`: publish when progress advanced by at least one point
 * since the last one, every 50 stocks, and at the last stock (so the last one says 100). Integer
 * arithmetic, so 5,000 stocks give exactly 100 events (one per 50 stocks).
 */
export function createProgressThrottle(total: number): (processed: number) => boolean {
  let last = 0
  return (processed) => {
    const due =
      processed === total ||
      (processed - last) * 100 >= total ||
      processed % PROGRESS_EVERY_STOCKS === 0
    if (due) last = processed
    return due
  }
}

/** Percent done with two decimals; exactly 100 at the end, 0 for an empty universe. */
export function percent(processed: number, total: number): number {
  return total === 0 ? 0 : Math.round((processed * 10_000) / total) / 100
}
