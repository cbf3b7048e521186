import { describe, expect, it } from 'vitest'
import { OptionSpecError } from './errors.js'
import { option } from './option.js'
import { defineOptions } from './spec.js'
import { captureError } from './test-support/errors.js'

const help = 'what it does'

describe('spec', () => {
  it.each<[string, () => unknown, string]>([
    [
      'a flag used twice',
      () =>
        defineOptions({
          a: option.integer({ flag: 'size', min: 0, help }),
          b: option.string({ flag: 'size', help }),
        }),
      'option b: flag --size is malformed or taken by another row',
    ],
    [
      'a variable used twice',
      () =>
        defineOptions({
          a: option.integer({ env: 'SIZE', min: 0, help }),
          b: option.string({ env: 'SIZE', help }),
        }),
      'option b: variable SIZE is malformed or taken by another row',
    ],
    [
      'a flag spelled with dashes',
      () => defineOptions({ a: option.string({ flag: '--size', help }) }),
      'option a: flag ----size is malformed or taken by another row',
    ],
    [
      'a variable in lower case',
      () => defineOptions({ a: option.string({ env: 'size', help }) }),
      'option a: variable size is malformed or taken by another row',
    ],
    [
      'a default outside its range',
      () => defineOptions({ a: option.integer({ env: 'A', default: 0, min: 1, max: 9, help }) }),
      'option a: default "0" is not an integer from 1 to 9',
    ],
    [
      'a list default with an empty item',
      () =>
        defineOptions({
          a: option.list({ env: 'A', default: ['X', ''], expected: 'a list of codes', help }),
        }),
      'option a: default "X," is not a list of codes',
    ],
    [
      'a row without flag or variable',
      () => option.string({ help }),
      'option what it does: a row needs a flag, an environment variable or both',
    ],
    [
      'a pattern without its expected text',
      () => option.string({ env: 'A', pattern: /^a$/, help }),
      'option A: a pattern or check needs an expected text',
    ],
  ])('refuses %s', (_, define, message) => {
    const error = captureError(define)
    expect(error).toBeInstanceOf(OptionSpecError)
    expect(error).toMatchObject({ name: 'OptionSpecError', message })
  })

  it('freezes the spec and keeps its rows', () => {
    const row = option.integer({ env: 'A', default: 1, min: 1, help })
    const spec = defineOptions({ a: row })
    expect(Object.isFrozen(spec)).toBe(true)
    expect(Object.isFrozen(row)).toBe(true)
    expect(spec.a).toBe(row)
  })
})
