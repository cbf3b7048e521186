import { OptionSpecError } from './errors.js'

/** The types an option can have; each parses text its own way and says what it expects. */
export type OptionKind =
  | 'string'
  | 'integer'
  | 'number'
  | 'duration'
  | 'boolean'
  | 'one-of'
  | 'url'
  | 'list'

/** What every row says, whatever its type. A row has a flag, an environment variable, or both. */
export interface RowBase {
  /** Command-line flag without its dashes: `stale-task`. */
  readonly flag?: string
  /** Environment variable: `STALE_TASK_S`. */
  readonly env?: string
  /**
   * The variable's name before a rename: set, it is refused with a message naming `env`, so a
   * deployment's setting is never silently ignored after an upgrade.
   */
  readonly formerEnv?: string
  /** The one command the flag belongs to (`run`); other commands refuse the flag. */
  readonly only?: string
  /** One line for `--help` and the README. */
  readonly help: string
  /** How the default reads where it is computed or absent: `cores`, `unpaced`. */
  readonly defaultText?: string
  /** The word after the flag in `--help` and the README: `N`, `DIR`, `HH:MM`. */
  readonly placeholder?: string
}

/** One option: where it is read, what it accepts, its default; built from a row by `option.*`. */
export interface Option<V> {
  readonly kind: OptionKind
  readonly flag: string | undefined
  readonly env: string | undefined
  readonly formerEnv: string | undefined
  readonly only: string | undefined
  readonly help: string
  readonly defaultText: string | undefined
  readonly placeholder: string
  /** `undefined` when the option has no default: the app computes one or does without. */
  readonly default: V
  /** The `<what>` of `<name> must be <what>, got "<text>"`: `an integer from 1 to 100000`. */
  readonly expected: string
  /** The value is never repeated: not in errors, not in docs. */
  readonly secret: boolean
  /** The value `text` stands for, or `undefined` when it stands for none. */
  parse(text: string): NonNullable<V> | undefined
}

/** The value type of an option: `number`, `'run' | 'serve'`, `string | undefined`... */
export type OptionValue<O> = O extends Option<infer V> ? V : never

// An option without a default may be undefined; one with a default never is.
type Value<D, T> = [D] extends [undefined] ? T | undefined : T

export interface StringRow<D extends string | undefined> extends RowBase {
  readonly default?: D
  readonly minLength?: number
  readonly pattern?: RegExp
  /** A check the pattern cannot express (a real date, a known time zone). */
  readonly valid?: (text: string) => boolean
  /** Required with `pattern` or `valid`: `a YYYY-MM-DD date`. */
  readonly expected?: string
  readonly secret?: boolean
}

export interface IntegerRow<D extends number | undefined> extends RowBase {
  readonly default?: D
  readonly min: number
  readonly max?: number
}

/** Without `min` the number must be greater than 0. */
export interface NumberRow<D extends number | undefined> extends RowBase {
  readonly default?: D
  readonly min?: number
  readonly max?: number
}

export interface OneOfRow<V extends string, D extends V | undefined> extends RowBase {
  readonly values: readonly V[]
  readonly default?: D
}

export interface UrlRow<D extends string | undefined> extends RowBase {
  readonly default?: D
  /** Allowed schemes without `:` or `//`: `['redis', 'rediss']`. */
  readonly protocols: readonly string[]
}

export interface ListRow<D extends readonly string[] | undefined> extends RowBase {
  readonly default?: D
  /** A check of the whole list, e.g. that every id is known. */
  readonly valid?: (items: readonly string[]) => boolean
  /** What the list must be: `a comma-separated list of indicator ids`. */
  readonly expected: string
}

/** Flags without a value (`--json`); the variable takes 1, true, 0 or false. Off by default. */
export type BooleanRow = RowBase

/** The row builders: `option.integer({ flag, env, default, min, max, help })` and so on. */
export const option = {
  /** Any non-empty text, optionally matching `pattern`, at least `minLength` long, or `valid`. */
  string<D extends string | undefined = undefined>(row: StringRow<D>): Option<Value<D, string>> {
    const { pattern, valid, minLength = 1 } = row
    if ((pattern || valid) && !row.expected) {
      throw new OptionSpecError(nameOf(row), 'a pattern or check needs an expected text')
    }
    const expected =
      row.expected ?? (minLength > 1 ? `at least ${minLength} characters` : 'a non-empty string')
    return build(row, 'string', 'VALUE', expected, row.secret ?? false, (text) =>
      text.length >= minLength && (!pattern || pattern.test(text)) && (!valid || valid(text))
        ? text
        : undefined,
    )
  },

  /** A whole number from `min` to `max` (no upper bound without `max`). */
  integer<D extends number | undefined = undefined>(row: IntegerRow<D>): Option<Value<D, number>> {
    const { min, max = Number.MAX_SAFE_INTEGER } = row
    const expected =
      row.max === undefined ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`
    return build(row, 'integer', 'N', expected, false, (text) => {
      const value = INTEGER.test(text) ? Number(text) : Number.NaN
      return Number.isSafeInteger(value) && value >= min && value <= max ? value : undefined
    })
  },

  /** A decimal number: greater than 0, or from `min`; at most `max`. */
  number<D extends number | undefined = undefined>(row: NumberRow<D>): Option<Value<D, number>> {
    return build(row, 'number', 'N', rangeText('number', row), false, decimalIn(row))
  },

  /** Seconds, decimals allowed (`1.5`); the value stays in seconds. Range as `number`. */
  duration<D extends number | undefined = undefined>(row: NumberRow<D>): Option<Value<D, number>> {
    return build(row, 'duration', 'S', rangeText('number of seconds', row), false, decimalIn(row))
  },

  /** A flag without a value, or a variable of 1, true, 0 or false. */
  boolean(row: BooleanRow): Option<boolean> {
    return build({ ...row, default: false }, 'boolean', '', '1, true, 0 or false', false, (text) =>
      text === '1' || text === 'true' ? true : text === '0' || text === 'false' ? false : undefined,
    )
  },

  /** One word of `values`. */
  oneOf<const V extends string, D extends V | undefined = undefined>(
    row: OneOfRow<V, D>,
  ): Option<Value<D, V>> {
    const expected = `one of ${row.values.join(', ')}`
    return build(row, 'one-of', 'NAME', expected, false, (text) =>
      row.values.find((value) => value === text),
    )
  },

  /** An absolute URL whose scheme is one of `protocols`; the value is the text as given. */
  url<D extends string | undefined = undefined>(row: UrlRow<D>): Option<Value<D, string>> {
    const schemes = row.protocols.map((protocol) => `${protocol}://`)
    const expected = `${/^[aeiouh]/.test(schemes[0] ?? '') ? 'an' : 'a'} ${orList(schemes)} URL`
    return build(row, 'url', 'URL', expected, false, (text) =>
      URL.canParse(text) && row.protocols.includes(new URL(text).protocol.slice(0, -1))
        ? text
        : undefined,
    )
  },

  /** Comma-separated, each item trimmed and non-empty. */
  list<D extends readonly string[] | undefined = undefined>(
    row: ListRow<D>,
  ): Option<Value<D, readonly string[]>> {
    const frozen = { ...row, ...(row.default ? { default: Object.freeze([...row.default]) } : {}) }
    return build(frozen, 'list', 'LIST', row.expected, false, (text) => {
      const items = text.split(',').map((item) => item.trim())
      if (items.some((item) => item === '')) return undefined
      return !row.valid || row.valid(items) ? Object.freeze(items) : undefined
    })
  },
}

/** `a, b or c`. */
export function orList(items: readonly string[]): string {
  return items.length < 2 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`
}

/** How an option's default reads in `--help` and the README: `60`, `off`, `unset`, `cores`. */
export function defaultOf(option: Option<unknown>): string {
  if (option.defaultText !== undefined) return option.defaultText
  if (option.kind === 'boolean') return 'off'
  if (option.default === undefined) return 'unset'
  return textOf(option.default)
}

/** The text that parses back into `value`: the inverse of `parse` for defaults. */
export function textOf(value: unknown): string {
  return Array.isArray(value) ? value.join(',') : String(value)
}

// ---- Helpers ----

const INTEGER = /^-?\d+$/
const DECIMAL = /^-?\d+(\.\d+)?$/

function build<V>(
  row: RowBase & { readonly default?: unknown },
  kind: OptionKind,
  placeholder: string,
  expected: string,
  secret: boolean,
  parse: (text: string) => unknown,
): Option<V> {
  if (row.flag === undefined && row.env === undefined) {
    throw new OptionSpecError(row.help, 'a row needs a flag, an environment variable or both')
  }
  return Object.freeze({
    kind,
    flag: row.flag,
    env: row.env,
    formerEnv: row.formerEnv,
    only: row.only,
    help: row.help,
    defaultText: row.defaultText,
    placeholder: row.placeholder ?? placeholder,
    default: row.default as V,
    expected,
    secret,
    parse: parse as (text: string) => NonNullable<V> | undefined,
  })
}

function decimalIn(row: NumberRow<number | undefined>): (text: string) => number | undefined {
  const { min, max = Number.POSITIVE_INFINITY } = row
  return (text) => {
    const value = DECIMAL.test(text) ? Number(text) : Number.NaN
    const aboveMin = min === undefined ? value > 0 : value >= min
    return Number.isFinite(value) && aboveMin && value <= max ? value : undefined
  }
}

function rangeText(noun: string, { min, max }: NumberRow<number | undefined>): string {
  if (min === undefined) return `a positive ${noun}${max === undefined ? '' : ` up to ${max}`}`
  return max === undefined ? `a ${noun} of at least ${min}` : `a ${noun} from ${min} to ${max}`
}

function nameOf(row: RowBase): string {
  return row.env ?? `--${row.flag}`
}

/** For a row's `valid`: whether `check` returns instead of throwing (a parser used as a test). */
export function accepts(check: () => unknown): boolean {
  try {
    check()
    return true
  } catch {
    return false
  }
}
