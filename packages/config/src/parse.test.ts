import { describe, expect, it } from 'vitest'
import { ConfigError } from './errors.js'
import { option } from './option.js'
import { parseCommandLine, parseEnv } from './parse.js'
import { defineOptions } from './spec.js'
import { captureError } from './test-support/errors.js'

const spec = defineOptions({
  stocks: option.integer({ flag: 'stocks', env: 'APP_STOCKS', min: 1, max: 100, help: 'size' }),
  days: option.integer({ flag: 'days', env: 'APP_DAYS', default: 250, min: 1, help: 'days' }),
  mode: option.oneOf({ flag: 'mode', values: ['a', 'b'], default: 'a', help: 'mode' }),
  port: option.integer({ env: 'APP_PORT', default: 80, min: 0, max: 65_535, help: 'port' }),
  out: option.string({ flag: 'out', only: 'run', help: 'file' }),
  json: option.boolean({ flag: 'json', only: 'run', help: 'json' }),
  demo: option.boolean({ flag: 'demo', env: 'APP_DEMO', only: 'serve', help: 'demo' }),
  time: option.string({
    flag: 'time',
    env: 'APP_TIME',
    only: 'serve',
    pattern: /^\d\d:\d\d$/,
    expected: 'HH:MM',
    default: '16:30',
    help: 'time',
  }),
})

const commands = ['run', 'serve'] as const
const parse = (argv: string[], env: Record<string, string> = {}) =>
  parseCommandLine(spec, { argv, env, commands, program: 'app' })

describe('parse', () => {
  it('takes flags over variables, and variables over defaults', () => {
    const env = { APP_STOCKS: '20', APP_DAYS: '30', APP_PORT: '8080' }
    expect(parse(['run', '--stocks', '10'], env).values).toMatchObject({
      stocks: 10,
      days: 30,
      port: 8080,
    })
    expect(parse(['run', '--days=40'], env).values).toMatchObject({ stocks: 20, days: 40 })
    expect(parse(['run']).values).toEqual({
      stocks: undefined,
      days: 250,
      mode: 'a',
      port: 80,
      out: undefined,
      json: false,
      demo: false,
      time: '16:30',
    })
  })

  it('refuses a renamed variable by its former name, naming the new one', () => {
    const renamed = defineOptions({
      table: option.string({ flag: 'table', env: 'TABLE', formerEnv: 'APP_TABLE', help: 't' }),
    })
    const error = captureError(() => parseEnv(renamed, { APP_TABLE: 'mine' }))
    expect(error).toBeInstanceOf(ConfigError)
    expect(error).toMatchObject({
      variable: 'APP_TABLE',
      message: 'APP_TABLE is now TABLE: set TABLE instead',
    })
    // Even beside the new name: the two could disagree.
    expect(() => parseEnv(renamed, { APP_TABLE: 'a', TABLE: 'b' })).toThrow(ConfigError)
    expect(parseEnv(renamed, { APP_TABLE: ' ', TABLE: 'b' }).table).toBe('b')
  })

  it('counts an empty or blank variable as unset', () => {
    expect(parse(['run'], { APP_DAYS: '', APP_STOCKS: '  ' }).values).toMatchObject({
      days: 250,
      stocks: undefined,
    })
    expect(parseEnv(spec, { APP_PORT: '' }).port).toBe(80)
  })

  it('returns the command and frozen values', () => {
    const line = parse(['serve', '--demo', '--time', '09:05'])
    expect(line.command).toBe('serve')
    expect(line.values).toMatchObject({ demo: true, time: '09:05' })
    expect(Object.isFrozen(line)).toBe(true)
    expect(Object.isFrozen(line.values)).toBe(true)
    expect(Object.isFrozen(parseEnv(spec, {}))).toBe(true)
  })

  it('reads the variable of an option that belongs to the other command', () => {
    expect(parse(['run'], { APP_DEMO: '1', APP_TIME: '08:00' }).values).toMatchObject({
      demo: true,
      time: '08:00',
    })
  })

  it('leaves flags alone when reading the environment only', () => {
    expect(parseEnv(spec, { APP_DAYS: '7' })).toMatchObject({ days: 7, mode: 'a', json: false })
  })

  it.each<[string[], Record<string, string>, string, string]>([
    [
      ['run', '--stocks', '0'],
      {},
      '--stocks',
      '--stocks must be an integer from 1 to 100, got "0"',
    ],
    [['run', '--stocks='], {}, '--stocks', '--stocks must be an integer from 1 to 100, got ""'],
    [
      ['run'],
      { APP_STOCKS: 'abc' },
      'APP_STOCKS',
      'APP_STOCKS must be an integer from 1 to 100, got "abc"',
    ],
    [
      ['run', '--stocks', 'x'],
      { APP_STOCKS: '5' },
      '--stocks',
      '--stocks must be an integer from 1 to 100, got "x"',
    ],
    [['serve'], { APP_TIME: '4pm' }, 'APP_TIME', 'APP_TIME must be HH:MM, got "4pm"'],
    [['run'], { APP_DEMO: 'yes' }, 'APP_DEMO', 'APP_DEMO must be 1, true, 0 or false, got "yes"'],
    [[], {}, 'command', 'expected a command: run or serve'],
    [['start'], {}, 'command', 'unknown command "start": expected run or serve'],
    [['run', 'extra'], {}, 'command', 'unexpected argument "extra"'],
    [['run', '--nope'], {}, '--nope', 'unknown option --nope; see app --help'],
    [['run', '--port', '1'], {}, '--port', 'unknown option --port; see app --help'],
    [['run', '--stocks'], {}, '--stocks', '--stocks needs a value'],
    [['run', '--json=yes'], {}, '--json', '--json does not take a value'],
    [['run', '--demo'], {}, '--demo', '--demo is only for serve'],
    [['serve', '--out', 'x.csv'], {}, '--out', '--out is only for run'],
  ])('refuses %j %j', (argv, env, variable, message) => {
    const error = captureError(() => parse(argv, env))
    expect(error).toBeInstanceOf(ConfigError)
    expect(error).toMatchObject({ name: 'ConfigError', variable, message })
  })
})
