import { describe, expect, it } from 'vitest'
import { optionHelp } from './help.js'
import { option } from './option.js'
import { defineOptions } from './spec.js'

describe('help', () => {
  it('shows every flag with its variable, accepted values and default', () => {
    const spec = defineOptions({
      redis: option.url({
        flag: 'redis',
        env: 'REDIS_URL',
        protocols: ['redis'],
        default: 'redis://127.0.0.1:6379',
        help: 'Redis to use',
      }),
      stocks: option.integer({
        flag: 'stocks',
        env: 'STOCKS',
        min: 1,
        max: 9,
        defaultText: 'every stock',
        help: 'universe size',
      }),
      out: option.string({ flag: 'out', only: 'run', placeholder: 'FILE', help: 'results file' }),
      demo: option.boolean({ flag: 'demo', env: 'DEMO', only: 'serve', help: 'one job now' }),
      port: option.integer({ env: 'PORT', default: 80, min: 0, help: 'port' }),
    })
    expect(optionHelp(spec)).toBe(
      [
        '  --redis URL  Redis to use',
        '               env REDIS_URL; a redis:// URL; default redis://127.0.0.1:6379',
        '  --stocks N   universe size',
        '               env STOCKS; an integer from 1 to 9; default every stock',
        '  --out FILE   results file',
        '               run only; a non-empty string; default unset',
        '  --demo       one job now',
        '               serve only; env DEMO (1, true, 0 or false); default off',
        '  PORT         port',
        '               an integer of at least 0; default 80',
      ].join('\n'),
    )
  })
})
