import type { FailureRow } from '../composables/useTaskFeed'

/** The failure list as CSV (RFC 4180): `stock_code,indicator,reason`, an empty indicator for a whole stock. */
export function failuresCsv(failures: readonly FailureRow[]): string {
  const lines = failures.map((failure) =>
    [failure.stock_code, failure.indicator ?? '', failure.reason].map(csvField).join(','),
  )
  return `${['stock_code,indicator,reason', ...lines].join('\r\n')}\r\n`
}

/** A field quoted when it holds a comma, a quote or a line break; a leading = + - @ is defused. */
function csvField(text: string): string {
  const safe = /^[=+\-@]/.test(text) ? `'${text}` : text
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe
}
