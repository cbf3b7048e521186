import {
  createStockIndicatorsCompletedEvent,
  createTaskCompletedEvent,
  createTaskProgressEvent,
  INDICATORS_ALL,
  TASKS_ALL,
} from '@stockpulse/events'

/** One message as the worker publishes it. */
export interface Published {
  readonly channel: string
  readonly text: string
}

const INDICATORS = [
  'SMA_5',
  'SMA_10',
  'SMA_20',
  'SMA_60',
  'MACD',
  'RSI_14',
  'BBANDS',
  'ATR_14',
  'KDJ',
]

/**
 * The messages of one daily job as the worker publishes them: a start progress, one
 * `stock.indicators.completed` per stock (9 indicators with their latest values), a progress
 * every 50 stocks, and the completion. 5,000 stocks make 5,102 messages.
 */
export function jobMessages(taskId: string, stocks: number): Published[] {
  const messages: Published[] = [progress(taskId, 0, stocks)]
  for (let i = 1; i <= stocks; i++) {
    messages.push({ channel: INDICATORS_ALL, text: JSON.stringify(stockEvent(taskId, i)) })
    if (i % 50 === 0) messages.push(progress(taskId, i, stocks))
  }
  const completed = createTaskCompletedEvent({
    task_id: taskId,
    task_type: 'batch_daily',
    status: 'completed',
    duration_seconds: 42.5,
    result: { success: stocks, failed: 0 },
  })
  messages.push({ channel: TASKS_ALL, text: JSON.stringify(completed) })
  return messages
}

/** One stock's event, the bulk of a job (~700 bytes). */
export function stockEvent(taskId: string, index: number) {
  const base = 10 + (index % 90)
  return createStockIndicatorsCompletedEvent({
    task_id: taskId,
    stock_code: String(index).padStart(6, '0'),
    indicators: INDICATORS,
    success_count: INDICATORS.length,
    failed_count: 0,
    calculation_time_ms: 1.25,
    from_cache_count: 0,
    latest: {
      SMA_5: { sma: base + 0.11 },
      SMA_10: { sma: base + 0.21 },
      SMA_20: { sma: base + 0.31 },
      SMA_60: { sma: base + 0.41 },
      MACD: { macd: 0.12, signal: 0.1, hist: 0.02 },
      RSI_14: { rsi: 55.5 },
      BBANDS: { upper: base + 1.5, middle: base, lower: base - 1.5 },
      ATR_14: { atr: 0.8 },
      KDJ: { k: 60.1, d: 58.2, j: 63.9 },
    },
  })
}

/** A running task's progress after `processed` of `total` stocks. */
export function taskProgress(taskId: string, processed: number, total: number) {
  return createTaskProgressEvent({
    task_id: taskId,
    task_type: 'batch_daily',
    status: 'running',
    progress: (processed / total) * 100,
    message: processed === 0 ? 'Starting daily calculation' : `Processed ${processed}/${total}`,
    processed,
    total,
    failed: 0,
  })
}

function progress(taskId: string, processed: number, total: number): Published {
  return { channel: TASKS_ALL, text: JSON.stringify(taskProgress(taskId, processed, total)) }
}
