import { describe, expect, it } from 'vitest'
import { ConfigError } from './errors.js'
import { option } from './option.js'
import { parseEnv } from './parse.js'
import { defineOptions } from './spec.js'
import { captureError } from './test-support/errors.js'

const help = 'what it does'
const spec = defineOptions({
  text: option.string({ env: 'TEXT', help }),
  pattern: option.string({ env: 'ID', pattern: /^[a-z]{1,3}$/, expected: '1-3 letters', help }),
  checked: option.string({
    env: 'DAY',
    valid: (text) => /^\d{4}-\d\d-\d\d$/.test(text) && !Number.isNaN(Date.parse(text)),
    expected: 'a YYYY-MM-DD date',
    help,
  }),
  secret: option.string({ env: 'SECRET', minLength: 32, secret: true, help }),
  integer: option.integer({ env: 'INT', min: 1, max: 100, help }),
  atLeast: option.integer({ env: 'COUNT', min: 0, help }),
  number: option.number({ env: 'RATE', help }),
  ranged: option.number({ env: 'RATIO', min: 0.5, max: 2, help }),
  duration: option.duration({ env: 'WAIT_S', help }),
  capped: option.duration({ env: 'TIMEOUT_S', max: 60, help }),
  boolean: option.boolean({ env: 'ON', help }),
  oneOf: option.oneOf({ env: 'MODE', values: ['fast', 'safe', 'off'], help }),
  redis: option.url({ env: 'REDIS', protocols: ['redis', 'rediss'], help }),
  web: option.url({ env: 'JWKS', protocols: ['http', 'https'], help }),
  list: option.list({ env: 'WORDS', expected: 'a comma-separated list of words', help }),
  upper: option.list({
    env: 'CODES',
    valid: (items) => items.every((item) => /^[A-Z]+$/.test(item)),
    expected: 'a comma-separated list of upper-case codes',
    help,
  }),
})
type Key = keyof typeof spec

const read = (key: Key, text: string) => parseEnv(spec, { [spec[key].env!]: text })[key]

describe('option', () => {
  it.each<[Key, string, unknown]>([
    ['text', 'anything at all', 'anything at all'],
    ['text', '  padded  ', 'padded'],
    ['pattern', 'abc', 'abc'],
    ['checked', '2026-01-09', '2026-01-09'],
    ['secret', 's'.repeat(32), 's'.repeat(32)],
    ['integer', '1', 1],
    ['integer', '100', 100],
    ['atLeast', '0', 0],
    ['atLeast', '9007199254740991', Number.MAX_SAFE_INTEGER],
    ['number', '84.5', 84.5],
    ['number', '3', 3],
    ['ranged', '0.5', 0.5],
    ['ranged', '2', 2],
    ['duration', '1.5', 1.5],
    ['duration', '86400', 86_400],
    ['capped', '60', 60],
    ['boolean', '1', true],
    ['boolean', 'true', true],
    ['boolean', '0', false],
    ['boolean', 'false', false],
    ['oneOf', 'safe', 'safe'],
    ['redis', 'redis://cache:6380/1', 'redis://cache:6380/1'],
    ['redis', 'rediss://user:pw@cache', 'rediss://user:pw@cache'],
    ['web', 'https://auth.example/jwks.json', 'https://auth.example/jwks.json'],
    ['list', 'a, b ,c', ['a', 'b', 'c']],
    ['list', 'one', ['one']],
    ['upper', 'AB,C', ['AB', 'C']],
  ])('%s reads %j', (key, text, value) => {
    expect(read(key, text)).toEqual(value)
  })

  it.each<[Key, string, string]>([
    ['pattern', 'abcd', 'ID must be 1-3 letters, got "abcd"'],
    ['checked', '2026-02-3x', 'DAY must be a YYYY-MM-DD date, got "2026-02-3x"'],
    ['secret', 'hunter2', 'SECRET must be at least 32 characters'],
    ['integer', '0', 'INT must be an integer from 1 to 100, got "0"'],
    ['integer', '101', 'INT must be an integer from 1 to 100, got "101"'],
    ['integer', '2.5', 'INT must be an integer from 1 to 100, got "2.5"'],
    ['integer', '1e2', 'INT must be an integer from 1 to 100, got "1e2"'],
    ['integer', 'abc', 'INT must be an integer from 1 to 100, got "abc"'],
    ['atLeast', '-1', 'COUNT must be an integer of at least 0, got "-1"'],
    [
      'atLeast',
      '9007199254740993',
      'COUNT must be an integer of at least 0, got "9007199254740993"',
    ],
    ['number', '0', 'RATE must be a positive number, got "0"'],
    ['number', '-1', 'RATE must be a positive number, got "-1"'],
    ['number', 'Infinity', 'RATE must be a positive number, got "Infinity"'],
    ['number', '0x10', 'RATE must be a positive number, got "0x10"'],
    ['ranged', '2.1', 'RATIO must be a number from 0.5 to 2, got "2.1"'],
    ['duration', '0', 'WAIT_S must be a positive number of seconds, got "0"'],
    ['duration', '1m', 'WAIT_S must be a positive number of seconds, got "1m"'],
    ['capped', '60.5', 'TIMEOUT_S must be a positive number of seconds up to 60, got "60.5"'],
    ['boolean', 'yes', 'ON must be 1, true, 0 or false, got "yes"'],
    ['oneOf', 'Fast', 'MODE must be one of fast, safe, off, got "Fast"'],
    ['redis', 'http://cache', 'REDIS must be a redis:// or rediss:// URL, got "http://cache"'],
    ['redis', 'cache:6379', 'REDIS must be a redis:// or rediss:// URL, got "cache:6379"'],
    [
      'redis',
      'http://user:hunter2@cache',
      'REDIS must be a redis:// or rediss:// URL, got "http://user:***@cache"',
    ],
    ['web', 'file:///jwks', 'JWKS must be an http:// or https:// URL, got "file:///jwks"'],
    ['list', 'a,,b', 'WORDS must be a comma-separated list of words, got "a,,b"'],
    ['upper', 'AB,c', 'CODES must be a comma-separated list of upper-case codes, got "AB,c"'],
  ])('%s refuses %j', (key, text, message) => {
    const error = captureError(() => read(key, text))
    expect(error).toBeInstanceOf(ConfigError)
    expect(error).toMatchObject({ name: 'ConfigError', variable: spec[key].env, message })
  })

  it('gives undefined for an unset option without a default, false for an unset boolean', () => {
    const values = parseEnv(spec, {})
    expect(Object.values(values).filter((value) => value !== undefined)).toEqual([false])
    expect(values.boolean).toBe(false)
  })

  it('takes defaults of every type, a list default frozen', () => {
    const defaults = defineOptions({
      port: option.integer({ env: 'PORT', default: 8000, min: 0, max: 65_535, help }),
      mode: option.oneOf({ env: 'MODE', values: ['a', 'b'], default: 'b', help }),
      wait: option.duration({ env: 'WAIT_S', default: 0.5, help }),
      words: option.list({ env: 'WORDS', default: ['x', 'y'], expected: 'words', help }),
    })
    const values = parseEnv(defaults, {})
    expect(values).toEqual({ port: 8000, mode: 'b', wait: 0.5, words: ['x', 'y'] })
    expect(Object.isFrozen(values.words)).toBe(true)
  })
})
