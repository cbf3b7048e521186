import type { Logger } from 'pino'
import type { JobProgress } from './job.js'

/** Shows a job's progress while it runs. */
export interface ProgressReporter {
  update(progress: JobProgress): void
  /** Ends the display (a bar leaves its last state on its own line). */
  done(): void
}

const BAR_WIDTH = 30
const REDRAW_MS = 100

/** A one-line bar for terminals: processed/total, percent, rate and ETA, redrawn at most 10 times a second. */
export function createProgressBar(
  stream: Pick<NodeJS.WriteStream, 'write'>,
  now: () => number = () => performance.now(),
): ProgressReporter {
  const started = now()
  let drawn = Number.NEGATIVE_INFINITY
  let shown = false
  return {
    update(progress) {
      const at = now()
      if (progress.processed < progress.total && at - drawn < REDRAW_MS) return
      drawn = at
      shown = true
      stream.write(`\r${renderBar(progress, (at - started) / 1000)}\x1b[K`)
    },
    done() {
      if (shown) stream.write('\n')
    },
  }
}

/** For logs (not a terminal): one line every 10 % of the universe. */
export function createProgressLog(
  logger: Logger,
  now: () => number = () => performance.now(),
): ProgressReporter {
  const started = now()
  let next = 0
  return {
    update({ processed, total, failed }) {
      if (processed < next && processed < total) return
      next = processed + Math.max(1, Math.ceil(total / 10))
      const seconds = (now() - started) / 1000
      logger.info(
        { processed, total, failed, rate: Math.round(processed / Math.max(seconds, 1e-3)) },
        'progress',
      )
    },
    done() {},
  }
}

/** `[#######.......]  2,500/5,000  50.0%  1,234 stocks/s  ETA 2s  3 failed` */
export function renderBar({ processed, total, failed }: JobProgress, seconds: number): string {
  const fraction = total === 0 ? 1 : processed / total
  const filled = Math.round(fraction * BAR_WIDTH)
  const rate = seconds > 0 ? processed / seconds : 0
  const eta = rate > 0 ? Math.ceil((total - processed) / rate) : undefined
  const parts = [
    `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`,
    `${processed.toLocaleString('en-US')}/${total.toLocaleString('en-US')}`,
    `${(fraction * 100).toFixed(1)}%`,
    `${Math.round(rate).toLocaleString('en-US')} stocks/s`,
    `ETA ${eta === undefined ? '?' : `${eta}s`}`,
  ]
  if (failed > 0) parts.push(`${failed} failed`)
  return parts.join('  ')
}
