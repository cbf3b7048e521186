import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { readBlock } from './markdown.js'
import { README_BLOCKS } from './readme.js'

describe('readme', () => {
  it.each(README_BLOCKS.map((block) => [block.name, block] as const))(
    'block %s is the table of the rows (run `pnpm docs:config` after a change)',
    (_, block) => {
      expect(readBlock(readFileSync(block.file, 'utf8'), block.name)).toBe(block.content)
    },
  )
})
