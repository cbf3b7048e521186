import { OptionSpecError } from './errors.js'
import { type Option, type OptionValue, textOf } from './option.js'

/** The rows of one app, by key: the key names the value in the parsed configuration. */
export type OptionSpec = Readonly<Record<string, Option<unknown>>>

/** The parsed configuration of a spec: one typed value per row. */
export type OptionValues<S extends OptionSpec> = { readonly [K in keyof S]: OptionValue<S[K]> }

const FLAG = /^[a-z][a-z0-9-]*$/
const ENV = /^[A-Z][A-Z0-9_]*$/

/**
 * Checks the rows of one app against each other and freezes them: one row per flag and per
 * variable, names spelled as flags and variables, every default within its own row's range.
 */
export function defineOptions<const S extends OptionSpec>(spec: S): S {
  const flags = new Set<string>()
  const envs = new Set<string>()
  for (const [key, option] of Object.entries(spec)) {
    const { flag, env } = option
    if (flag !== undefined && (!FLAG.test(flag) || flags.has(flag))) {
      throw new OptionSpecError(key, `flag --${flag} is malformed or taken by another row`)
    }
    if (env !== undefined && (!ENV.test(env) || envs.has(env))) {
      throw new OptionSpecError(key, `variable ${env} is malformed or taken by another row`)
    }
    if (flag !== undefined) flags.add(flag)
    if (env !== undefined) envs.add(env)
    if (option.kind !== 'boolean' && option.default !== undefined) {
      const text = textOf(option.default)
      if (option.parse(text) === undefined) {
        throw new OptionSpecError(key, `default ${JSON.stringify(text)} is not ${option.expected}`)
      }
    }
  }
  return Object.freeze(spec)
}
