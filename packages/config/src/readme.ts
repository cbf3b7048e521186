import { fileURLToPath } from 'node:url'
import type { MarkdownBlock } from './markdown.js'
import { optionTable } from './markdown.js'
import { SHARED_OPTIONS } from './shared.js'

/** The blocks of the READMEs this package owns (`pnpm docs:config` writes them). */
export const README_BLOCKS: readonly MarkdownBlock[] = [
  {
    file: fileURLToPath(new URL('../../../README.md', import.meta.url)),
    name: 'config:shared',
    content: optionTable(SHARED_OPTIONS, ['variable', 'flag', 'default', 'accepts', 'meaning']),
  },
]
