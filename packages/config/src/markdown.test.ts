import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { MarkdownBlockError } from './errors.js'
import { markdownTable, optionTable, readBlock, replaceBlock, writeBlocks } from './markdown.js'
import { option } from './option.js'
import { defineOptions } from './spec.js'
import { captureError } from './test-support/errors.js'

const spec = defineOptions({
  port: option.integer({ env: 'PORT', default: 8000, min: 0, max: 65_535, help: 'TCP port' }),
  source: option.oneOf({
    flag: 'source',
    env: 'SOURCE',
    values: ['synthetic', 'csv'],
    default: 'synthetic',
    help: 'where bars come from',
  }),
  secret: option.string({ env: 'SECRET', minLength: 32, secret: true, help: 'HS256 secret' }),
  json: option.boolean({ flag: 'json', only: 'run', help: 'print a | b' }),
  pace: option.number({ flag: 'pace', defaultText: 'unpaced', help: 'stocks per second' }),
})

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const root = fileURLToPath(new URL('../../..', import.meta.url))
const biome = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome')

describe('markdown', () => {
  const table = optionTable(spec, ['flag', 'variable', 'default', 'accepts', 'meaning'])

  it('renders a row per option, every cell from the row', () => {
    expect(table).toBe(
      [
        '| flag            | variable | default     | accepts                    | meaning                |',
        '| --------------- | -------- | ----------- | -------------------------- | ---------------------- |',
        '|                 | `PORT`   | `8000`      | an integer from 0 to 65535 | TCP port               |',
        '| `--source NAME` | `SOURCE` | `synthetic` | one of synthetic, csv      | where bars come from   |',
        '|                 | `SECRET` | unset       | at least 32 characters     | HS256 secret           |',
        '| `--json`        |          | off         |                            | run only: print a \\| b |',
        '| `--pace N`      |          | unpaced     | a positive number          | stocks per second      |',
      ].join('\n'),
    )
  })

  it('renders only the rows asked for, in the columns asked for', () => {
    expect(optionTable(spec, ['variable', 'default'], (row) => row.flag === undefined)).toBe(
      [
        '| variable | default |',
        '| -------- | ------- |',
        '| `PORT`   | `8000`  |',
        '| `SECRET` | unset   |',
      ].join('\n'),
    )
  })

  it('sets words with <placeholders> as code, so markdown does not take them for tags', () => {
    const placeholders = defineOptions({
      id: option.string({
        flag: 'task-id',
        defaultText: 'calc_<epoch ms>_<4 hex>',
        help: 'one <code>.csv per stock, or MACD[_<fast>_<slow>], KDJ',
      }),
    })
    expect(optionTable(placeholders, ['default', 'meaning'])).toBe(
      [
        '| default                   | meaning                                                    |',
        '| ------------------------- | ---------------------------------------------------------- |',
        '| `calc_<epoch ms>_<4 hex>` | one `<code>.csv` per stock, or `MACD[_<fast>_<slow>]`, KDJ |',
      ].join('\n'),
    )
  })

  it('pads short columns to three dashes', () => {
    expect(markdownTable(['a', 'bc'], [['1', '2']])).toBe(
      ['| a   | bc  |', '| --- | --- |', '| 1   | 2   |'].join('\n'),
    )
  })

  it('writes tables the way biome formats markdown', () => {
    const markdown = `# Options\n\n<!-- x:start -->\n\n${table}\n\n<!-- x:end -->\n`
    const formatted = execFileSync(process.execPath, [biome, 'format', '--stdin-file-path=x.md'], {
      cwd: root,
      input: markdown,
    })
    expect(formatted.toString()).toBe(markdown)
  })

  it('reads and replaces the content between the markers of a block', () => {
    const markdown = 'intro\n<!-- b:start (generated) -->\nold\n<!-- b:end -->\nrest\n'
    expect(readBlock(markdown, 'b')).toBe('old')
    const replaced = replaceBlock(markdown, 'b', '| new |')
    expect(replaced).toBe(
      'intro\n<!-- b:start (generated) -->\n\n| new |\n\n<!-- b:end -->\nrest\n',
    )
    expect(readBlock(replaced, 'b')).toBe('| new |')
    expect(readBlock(markdown, 'c')).toBeUndefined()
    const error = captureError(() => replaceBlock('<!-- c:start -->', 'c', 'x'))
    expect(error).toBeInstanceOf(MarkdownBlockError)
    expect(error).toMatchObject({
      block: 'c',
      message: 'no <!-- c:start --> ... <!-- c:end --> markers',
    })
  })

  it('rewrites the blocks of a file, and only when they changed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stockpulse-config-'))
    dirs.push(dir)
    const file = join(dir, 'README.md')
    writeFileSync(file, '<!-- a:start -->\n<!-- a:end -->\n\n<!-- b:start -->\n<!-- b:end -->\n')
    const blocks = [
      { file, name: 'a', content: 'first' },
      { file, name: 'b', content: 'second' },
    ]
    expect(writeBlocks(blocks)).toEqual([file])
    expect(readFileSync(file, 'utf8')).toBe(
      '<!-- a:start -->\n\nfirst\n\n<!-- a:end -->\n\n<!-- b:start -->\n\nsecond\n\n<!-- b:end -->\n',
    )
    expect(writeBlocks(blocks)).toEqual([])
  })
})
