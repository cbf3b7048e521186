/** Words of PromQL that read like a metric name but are operators, modifiers or numbers. */
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'atan2',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'inf',
  'nan',
])

/**
 * The metric names a PromQL expression selects: identifiers that are not functions, aggregations,
 * keywords, label names (inside `{}` or a `by`/`on`/... list), strings, numbers, durations or
 * Grafana variables (`$__rate_interval`, `${name}`). Enough for the expressions of the rules and
 * the dashboard; not a PromQL parser.
 */
export function metricNames(expr: string): Set<string> {
  const text = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
  const names = new Set<string>()
  let i = 0
  while (i < text.length) {
    const char = text[i]!
    if (char === '$') {
      i = skip(text, i + 1, /[{}\w]/)
    } else if (/\d/.test(char) || (char === '.' && /\d/.test(text[i + 1] ?? ''))) {
      i = skip(text, i, /[\w.]/)
    } else if (/[a-zA-Z_:]/.test(char)) {
      const end = skip(text, i, /[\w:]/)
      const word = text.slice(i, end)
      const next = /\S/.exec(text.slice(end))?.[0]
      if (next !== '(' && !KEYWORDS.has(word.toLowerCase())) names.add(word)
      i = end
    } else {
      i++
    }
  }
  return names
}

function skip(text: string, from: number, allowed: RegExp): number {
  let i = from
  while (i < text.length && allowed.test(text[i]!)) i++
  return i
}
