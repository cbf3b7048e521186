import { defaultOf, type Option } from './option.js'
import type { OptionSpec } from './spec.js'

/**
 * The options part of `--help`, two lines per row: the flag (or variable) and its help, then its
 * command, variable, accepted values and default, all from the rows.
 */
export function optionHelp(spec: OptionSpec): string {
  const options = Object.values(spec)
  const labels = options.map(labelOf)
  const width = Math.max(...labels.map((label) => label.length))
  return options
    .flatMap((option, i) => [
      `  ${labels[i]!.padEnd(width)}  ${option.help}`,
      `  ${' '.repeat(width)}  ${detailsOf(option)}`,
    ])
    .join('\n')
}

/** `--stocks N`, `--json`, or the variable of a row without a flag. */
export function labelOf(option: Option<unknown>): string {
  if (option.flag === undefined) return option.env ?? ''
  return option.kind === 'boolean' ? `--${option.flag}` : `--${option.flag} ${option.placeholder}`
}

function detailsOf(option: Option<unknown>): string {
  const { only, flag, env, kind, expected } = option
  const variable = env === undefined || flag === undefined ? undefined : `env ${env}`
  return [
    only === undefined ? undefined : `${only} only`,
    kind === 'boolean' && variable ? `${variable} (${expected})` : variable,
    kind === 'boolean' ? undefined : expected,
    `default ${defaultOf(option)}`,
  ]
    .filter((part) => part !== undefined)
    .join('; ')
}
