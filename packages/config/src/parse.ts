import { type ParseArgsConfig, parseArgs } from 'node:util'
import { ConfigError } from './errors.js'
import { type Option, orList } from './option.js'
import type { OptionSpec, OptionValues } from './spec.js'

/** Environment variables as `process.env` holds them. */
export type Env = Readonly<Record<string, string | undefined>>

/** Where `parseCommandLine` reads from, and what it accepts as a command. */
export interface CommandLineSource<C extends string> {
  /** The arguments without node and the script. */
  readonly argv: readonly string[]
  readonly env: Env
  /** The commands the program knows; the first positional argument must be one of them. */
  readonly commands: readonly C[]
  /** Named in the hint after an unknown option: `see stockpulse-worker --help`. */
  readonly program: string
}

/** A parsed command line: the command and every option's value, frozen. */
export interface CommandLine<S extends OptionSpec, C extends string> {
  readonly command: C
  readonly values: OptionValues<S>
  /** The flag or variable each value came from (`--data`, `WORKER_DATA_DIR`); none for defaults. */
  readonly origins: Origins<S>
}

/** Where each value came from, for errors about options that contradict each other. */
export type Origins<S extends OptionSpec> = { readonly [K in keyof S]?: string }

/**
 * Reads the rows' variables out of `env` (normally `process.env`; flags are not looked at): an
 * unset or empty variable gives the default. Throws ConfigError naming the variable.
 */
export function parseEnv<S extends OptionSpec>(spec: S, env: Env): OptionValues<S> {
  return resolve(spec, new Map(), env).values
}

/**
 * Parses a command, flags and variables against the rows: flags win over variables, which win
 * over defaults, and an empty variable counts as unset. A flag whose row is `only` for another
 * command is refused. Throws ConfigError naming the flag, or the variable a bad value came from.
 */
export function parseCommandLine<S extends OptionSpec, const C extends string>(
  spec: S,
  source: CommandLineSource<C>,
): CommandLine<S, C> {
  const { flags, positionals } = parseFlags(spec, source.argv, source.program)
  const [word, ...extra] = positionals
  const command = source.commands.find((known) => known === word)
  const expected = orList(source.commands)
  if (command === undefined) {
    throw new ConfigError(
      'command',
      word === undefined
        ? `expected a command: ${expected}`
        : `unknown command ${JSON.stringify(word)}: expected ${expected}`,
    )
  }
  if (extra.length > 0) {
    throw new ConfigError('command', `unexpected argument ${JSON.stringify(extra[0])}`)
  }
  for (const key of flags.keys()) {
    const { flag, only } = spec[key]!
    if (only !== undefined && only !== command) {
      throw new ConfigError(`--${flag}`, `--${flag} is only for ${only}`)
    }
  }
  return Object.freeze({ command, ...resolve(spec, flags, source.env) })
}

// ---- Helpers ----

// Flag values by row key: the text after the flag, or true for a flag without a value.
type Flags = ReadonlyMap<string, string | true>

function parseFlags(spec: OptionSpec, argv: readonly string[], program: string) {
  const keyOf = new Map<string, string>()
  const options: NonNullable<ParseArgsConfig['options']> = {}
  for (const [key, { flag, kind }] of Object.entries(spec)) {
    if (flag === undefined) continue
    keyOf.set(flag, key)
    options[flag] = { type: kind === 'boolean' ? 'boolean' : 'string' }
  }
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true })
  } catch (error) {
    const message = (error as Error).message
    const name = /'(-[^' ]+)/.exec(message)?.[1] ?? 'flags'
    if ((error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      throw new ConfigError(name, `unknown option ${name}; see ${program} --help`)
    }
    throw new ConfigError(
      name,
      message.includes('does not take') ? `${name} does not take a value` : `${name} needs a value`,
    )
  }
  const flags = new Map<string, string | true>()
  for (const [flag, value] of Object.entries(parsed.values)) {
    const key = keyOf.get(flag)
    if (key !== undefined && (typeof value === 'string' || value === true)) flags.set(key, value)
  }
  return { flags, positionals: parsed.positionals }
}

function resolve<S extends OptionSpec>(spec: S, flags: Flags, env: Env) {
  const values: Record<string, unknown> = {}
  const origins: Record<string, string> = {}
  for (const [key, option] of Object.entries(spec)) {
    const former = option.formerEnv
    if (former !== undefined && env[former]?.trim()) {
      throw new ConfigError(former, `${former} is now ${option.env}: set ${option.env} instead`)
    }
    const flag = flags.get(key)
    const text = option.env === undefined ? undefined : env[option.env]?.trim()
    const origin = flag !== undefined ? `--${option.flag}` : text ? option.env : undefined
    if (origin !== undefined) origins[key] = origin
    if (flag === true) values[key] = true
    else if (flag !== undefined) values[key] = parseText(option, flag, origin!)
    else if (text) values[key] = parseText(option, text, origin!)
    else values[key] = option.default
  }
  return {
    values: Object.freeze(values) as OptionValues<S>,
    origins: Object.freeze(origins) as Origins<S>,
  }
}

// The one error rule: `<name> must be <what>, got "<text>"`; a secret is never repeated.
function parseText(option: Option<unknown>, text: string, name: string): unknown {
  const value = option.parse(text)
  if (value !== undefined) return value
  if (option.secret) throw new ConfigError(name, `${name} must be ${option.expected}`)
  const shown = option.kind === 'url' ? text.replace(/(\/\/[^/@:]*:)[^/@]*@/, '$1***@') : text
  throw new ConfigError(name, `${name} must be ${option.expected}, got ${JSON.stringify(shown)}`)
}
