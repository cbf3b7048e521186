const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 })
const fixed = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
const fine = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 4 })

/** 12,345 */
export const formatCount = (value: number): string => integer.format(value)

/** 45.5 % */
export const formatPercent = (value: number): string => `${decimal.format(value)} %`

/** 123.4/s, or an em dash while unknown. */
export const formatRate = (perSecond: number | undefined): string =>
  perSecond === undefined ? '—' : `${decimal.format(perSecond)}/s`

/** 1.25 ms */
export const formatMs = (ms: number): string => `${fixed.format(ms)} ms`

/** 4.2 s, 3 m 05 s, 2 h 01 m; an em dash while unknown. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '—'
  if (seconds < 60) return `${decimal.format(seconds)} s`
  const whole = Math.round(seconds)
  const h = Math.floor(whole / 3600)
  const m = Math.floor((whole % 3600) / 60)
  const s = whole % 60
  return h > 0 ? `${h} h ${pad(m)} m` : `${m} m ${pad(s)} s`
}

/** A price or indicator value (null during the lookback): 9.90, 0.0812, 1,234.57. */
export function formatValue(value: number | null): string {
  if (value === null) return '—'
  return (Math.abs(value) >= 1000 ? fixed : fine).format(value)
}

function pad(n: number): string {
  return String(n).padStart(2, '0')
}
